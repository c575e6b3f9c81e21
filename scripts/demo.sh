#!/usr/bin/env bash
# The built-in demo, as root: two demo VMs (a network namespace each, with nginx inside on the guest IP),
# a certificate made for the demo names, and the forwarder on unprivileged ports. Ctrl-C removes everything.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "the demo creates network namespaces: run it as root" >&2
  exit 1
fi
ensure_packages iproute2 openssl curl nginx-light
ensure_jar
ensure_aot_cache

https_port=${DEMO_HTTPS_PORT:-8443}
raw_port=${DEMO_RAW_PORT:-2022}
# Both VMs use the same guest address, as Firecracker VMs often do: only the namespace tells them apart.
guest_ip=10.213.250.2
guest_range=10.213.250.0/24
work=$(mktemp -d /tmp/mergen-demo.XXXXXX)
namespaces=()

cleanup() {
  trap - EXIT INT TERM
  for ns in "${namespaces[@]}"; do
    [ -f "$work/$ns/nginx.pid" ] && kill "$(cat "$work/$ns/nginx.pid")" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  ip route del unreachable "$guest_range" 2>/dev/null || true
  rm -rf "$work"
  echo "demo cleaned up"
}
trap cleanup EXIT INT TERM

# A dial from the host namespace by mistake fails at once instead of leaving the machine.
ip route add unreachable "$guest_range"

vm_id=
make_vm() { # name createdAt; sets vm_id (no subshell, so the cleanup list stays in this shell)
  local name=$1 created=$2 id short ns
  id=$(cat /proc/sys/kernel/random/uuid)
  short=${id:0:8}
  ns=mergen-demo-$short
  ip netns add "$ns"
  namespaces+=("$ns")
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$guest_ip/32" dev lo
  mkdir -p "$work/vm.d/$id" "$work/$ns"
  cat >"$work/$ns/nginx.conf" <<CONF
user root;
worker_processes 1;
pid $work/$ns/nginx.pid;
error_log $work/$ns/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $work/$ns/tmp;
  server {
    listen $guest_ip:80;
    location / { default_type text/plain; return 200 "hello from $name (VM $id, netns $ns)\n"; }
  }
  server {
    listen $guest_ip:22;
    location / { default_type text/plain; return 200 "raw TCP reached $name\n"; }
  }
}
CONF
  ip netns exec "$ns" nginx -c "$work/$ns/nginx.conf"
  cat >"$work/vm.d/$id/meta.json" <<META
{ "id": "$id", "createdAt": "$created", "guestIP": "$guest_ip", "netns": "$ns",
  "httpPort": 80, "tags": { "app": "$name" }, "metadata": { "name": "$name-api" } }
META
  vm_id=$id
}
make_vm app1 2026-01-01T00:00:00Z; id1=$vm_id
make_vm app2 2026-01-02T00:00:00Z; id2=$vm_id

# A CA and a leaf naming the demo hosts: OpenSSL clients refuse *.localhost (a wildcard needs two labels after it).
names="DNS:*.localhost,DNS:app1.localhost,DNS:app2.localhost,DNS:app1-api.localhost,DNS:app2-api.localhost"
names+=",DNS:app9.localhost"
names+=",DNS:${id1:0:8}.localhost,DNS:${id2:0:8}.localhost,DNS:$id1.localhost,DNS:$id2.localhost"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=mergen demo CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=*.localhost" \
  -keyout "$work/wildcard.key" -out "$work/wildcard.csr" 2>/dev/null
openssl x509 -req -in "$work/wildcard.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$names") -out "$work/wildcard.crt" 2>/dev/null

cat <<MSG

mergen-forwarder demo
  VMs: app1 ($id1) and app2 ($id2), both at $guest_ip inside their own namespace
  metadata: $work/vm.d    certificate CA: $work/ca.crt
  Each VM name gets its own short-lived certificate from that demo CA at its first handshake (FWD_TLS_CA_*).
  Trust it with --cacert as below, or system-wide for the demo's lifetime:
    cp $work/ca.crt /usr/local/share/ca-certificates/mergen-demo.crt && update-ca-certificates

Try, in another terminal:
  curl --cacert $work/ca.crt --resolve app1.localhost:$https_port:127.0.0.1 https://app1.localhost:$https_port/
  curl --cacert $work/ca.crt --resolve app2-api.localhost:$https_port:127.0.0.1 https://app2-api.localhost:$https_port/
  curl --cacert $work/ca.crt --resolve ${id1:0:8}.localhost:$https_port:127.0.0.1 https://${id1:0:8}.localhost:$https_port/
  curl --cacert $work/ca.crt --resolve app9.localhost:$https_port:127.0.0.1 https://app9.localhost:$https_port/   # 404, no such VM
  curl -k https://127.0.0.1:$https_port/                                                                  # 421, no SNI
  curl http://127.0.0.1:$raw_port/                                                                        # raw TCP to the first VM

Ctrl-C stops the forwarder and removes the namespaces, routes and files.

MSG

FWD_LISTENERS="127.0.0.1:$https_port=443,127.0.0.1:$raw_port=22/raw" \
FWD_DOMAIN_SUFFIX=localhost \
FWD_CONFIG_ROOT="$work/vm.d" \
FWD_TLS_CERT_FILE="$work/wildcard.crt" \
FWD_TLS_KEY_FILE="$work/wildcard.key" \
FWD_TLS_CA_CERT_FILE="$work/ca.crt" \
FWD_TLS_CA_KEY_FILE="$work/ca.key" \
FWD_LOG_LEVEL=${FWD_LOG_LEVEL:-info} \
  "$FWD_JAVA" $(fwd_aot_flags) "${FWD_JVM_FLAGS[@]}" -jar "$fwd_jar" || true
# In the foreground the forwarder gets the terminal's Ctrl-C itself, stops gracefully, and the EXIT trap cleans up.
