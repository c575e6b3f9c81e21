# Shared by the project's scripts: find JDK 25 and Maven, build the jar when it is missing or stale.
# Sourced, not run. Nobody needs to export JAVA_HOME: the default java on these machines is 17.

fwd_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Prints the home of a JDK whose major version is 25 or newer, or fails with a clear message.
find_jdk() {
  local candidate
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-* /usr/lib/jvm/*-25-* /usr/lib/jvm/*25* /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
    local major
    major=$("$candidate/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
    if [ "${major%%.*}" -ge 25 ] 2>/dev/null; then
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

# Builds the JDK's AOT cache (JEP 483/514) next to the jar when it is missing or older than the jar: a short
# training run on a raw listener records the classes the forwarder loads and links. Start-up to listening
# measured here: about 0.85 s with the cache, 1.6-2.0 s without. Failing to build it only costs that time.
ensure_aot_cache() {
  [ -f "$fwd_aot" ] && [ "$fwd_aot" -nt "$fwd_jar" ] && return 0
  local dir port pid
  dir=$(mktemp -d)
  port=$(( 40000 + RANDOM % 20000 ))
  echo "training the start-up cache ..." >&2
  FWD_LISTENERS="127.0.0.1:$port=22" FWD_CONFIG_ROOT="$dir" FWD_ADMIN_ADDR= FWD_LOG_LEVEL=info \
    "$FWD_JAVA" -XX:AOTCacheOutput="$fwd_aot" "${FWD_JVM_FLAGS[@]}" -jar "$fwd_jar" >"$dir/train.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q "mergen-forwarder started" "$dir/train.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  [ -f "$fwd_aot" ] || echo "start-up cache not built; the forwarder runs without it" >&2
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
