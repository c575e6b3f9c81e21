#!/usr/bin/env bash
# Installs the built jar, a small launcher and the systemd unit. Run as root from a checkout.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"
ensure_jar
install -d /opt/mergen-forwarder/bin /etc/mergen
install -m 0644 "$fwd_jar" /opt/mergen-forwarder/mergen-forwarder.jar
install -m 0644 "$fwd_root/README.md" /opt/mergen-forwarder/README.md
# The start-up cache matches one jar at one path: train it against the installed jar.
rm -f /opt/mergen-forwarder/mergen-forwarder.aot
train_aot_cache /opt/mergen-forwarder/mergen-forwarder.jar /opt/mergen-forwarder/mergen-forwarder.aot
aot_flag=
[ -f /opt/mergen-forwarder/mergen-forwarder.aot ] && aot_flag="-XX:AOTCache=/opt/mergen-forwarder/mergen-forwarder.aot"
cat >/opt/mergen-forwarder/bin/mergen-forwarder <<LAUNCHER
#!/bin/sh
exec "$FWD_JAVA" $aot_flag ${FWD_JVM_FLAGS[*]} -jar /opt/mergen-forwarder/mergen-forwarder.jar "\$@"
LAUNCHER
chmod 0755 /opt/mergen-forwarder/bin/mergen-forwarder
install -m 0644 "$fwd_root/deploy/mergen-forwarder.service" /etc/systemd/system/mergen-forwarder.service
echo "installed; now: systemctl daemon-reload && systemctl enable --now mergen-forwarder"
