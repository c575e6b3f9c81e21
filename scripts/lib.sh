# Shared by the project's scripts: find JDK 25 and Maven, build the jar when it is missing or stale.
# Sourced, not run. Nobody needs to export JAVA_HOME: the default java on these machines is 17.

fwd_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Prints the home of a JDK whose major version is 25 or newer, or fails with a clear message. Reads each JDK's
# `release` file rather than starting a JVM to ask (that cost ~0.3 s of every launch).
find_jdk() {
  local candidate version
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-* /usr/lib/jvm/*-25-* /usr/lib/jvm/*25* /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -f "$candidate/release" ] || continue
    version=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$candidate/release")
    if [ "${version:-0}" -ge 25 ] 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "mergen-forwarder: no JDK 25 found (looked at \$JAVA_HOME and /usr/lib/jvm/*)" >&2
  return 1
}

# Installs Debian packages that are missing (as root); a no-op when all are there.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "mergen-forwarder: missing packages ${missing[*]} (run as root to install them)" >&2
    return 1
  fi
  echo "installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

fwd_jar="$fwd_root/target/mergen-forwarder.jar"

# Builds target/mergen-forwarder.jar when it is missing or older than any source.
ensure_jar() {
  if [ -f "$fwd_jar" ] && [ -z "$(find "$fwd_root/src/main" "$fwd_root/pom.xml" -newer "$fwd_jar" -print -quit)" ]; then
    return 0
  fi
  command -v mvn >/dev/null || ensure_packages maven
  echo "building $fwd_jar ..." >&2
  local log
  log=$(mktemp)
  # Quiet on success (Maven 3.8 prints stray colour codes even with -q); the whole log on failure.
  if ! (cd "$fwd_root" && JAVA_HOME="$FWD_JDK" mvn -B -q -DskipTests package) >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

fwd_aot="$fwd_root/target/mergen-forwarder.aot"

# Builds the JDK's AOT cache (JEP 483/514/515) next to the jar when it is missing or older than the jar.
ensure_aot_cache() {
  [ -f "$fwd_aot" ] && [ "$fwd_aot" -nt "$fwd_jar" ] && return 0
  train_aot_cache "$fwd_jar" "$fwd_aot"
}

# train_aot_cache JAR CACHE: a training run of JAR records the classes the forwarder loads and links, and method
# profiles, into CACHE. It runs the real start-up and real handshakes: a TLS listener with a throwaway certificate,
# one VM in the metadata, and a few requests (one routed to the VM, whose namespace does not exist, so the dial fails
# as it would for a stopped VM; one for an unknown name), plus a raw listener. No root and no network namespace
# needed. A cache trained on start-up alone left ~1,500 classes (TLS, JSON) to load at every start. Without openssl
# or curl, only the start-up is trained. The JVM ignores a cache that does not match its jar; failing to build one
# only costs start-up time.
train_aot_cache() {
  local jar=$1 cache=$2 dir tls_port raw_port pid listeners tls=
  dir=$(mktemp -d)
  tls_port=$(( 40000 + RANDOM % 10000 ))
  raw_port=$(( tls_port + 10000 ))
  listeners="127.0.0.1:$raw_port=22"
  mkdir -p "$dir/vm.d/train"
  cat >"$dir/vm.d/train/meta.json" <<META
{ "id": "7a1e0000-0000-4000-8000-000000000001", "createdAt": "2026-01-01T00:00:00Z", "guestIP": "10.255.255.1",
  "netns": "mergen-aot-training-none", "httpPort": 80, "tags": { "app": "train" } }
META
  if command -v openssl >/dev/null && command -v curl >/dev/null && openssl req -x509 -newkey ec \
      -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=*.localhost" \
      -addext "subjectAltName=DNS:*.localhost" -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1; then
    tls=yes
    listeners="127.0.0.1:$tls_port=443,$listeners"
  fi
  echo "training the start-up cache ..." >&2
  FWD_LISTENERS="$listeners" FWD_CONFIG_ROOT="$dir/vm.d" FWD_ADMIN_ADDR= FWD_LOG_LEVEL=info \
    FWD_TLS_CERT_FILE="$dir/cert.pem" FWD_TLS_KEY_FILE="$dir/key.pem" FWD_DIAL_TIMEOUT_SECONDS=1 \
    "$FWD_JAVA" -XX:AOTCacheOutput="$cache" "${FWD_JVM_FLAGS[@]}" -jar "$jar" >"$dir/train.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q "mergen-forwarder started" "$dir/train.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$tls" ]; then
    for _ in $(seq 1 20); do
      curl -sk -o /dev/null --max-time 2 --resolve "train.localhost:$tls_port:127.0.0.1" "https://train.localhost:$tls_port/" || true
      curl -sk -o /dev/null --max-time 2 --resolve "nobody.localhost:$tls_port:127.0.0.1" "https://nobody.localhost:$tls_port/" || true
    done
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$raw_port") 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  [ -f "$cache" ] || echo "start-up cache not built; the forwarder runs without it" >&2
  rm -rf "$dir"
}

# The JVM flag that uses the cache when it exists; the JVM ignores a cache that does not match.
fwd_aot_flags() {
  [ -f "$fwd_aot" ] && echo "-XX:AOTCache=$fwd_aot"
  return 0
}

FWD_JDK=$(find_jdk) || exit 1
FWD_JAVA="$FWD_JDK/bin/java"
# Flags the forwarder runs with: FFM for setns(), and quiet about Netty's use of sun.misc.Unsafe.
FWD_JVM_FLAGS=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow)
