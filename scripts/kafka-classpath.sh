#!/usr/bin/env bash
# Resolves the Kafka broker and console clients of the Kafka end-to-end test (e2e/kafka-broker/pom.xml) from
# Maven Central, apart from the forwarder's own classpath, and prints the path of the classpath file it wrote.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

out="$fwd_root/target/kafka-broker.classpath"
mkdir -p "$fwd_root/target"
(cd "$fwd_root" && JAVA_HOME="$FWD_JDK" mvn -B -q -f e2e/kafka-broker/pom.xml dependency:build-classpath \
  -Dmdep.outputFile="$out") >&2
echo "$out"
