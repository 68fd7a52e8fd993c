#!/bin/sh
# Builds the Java client, runs its unit tests and the conformance suite against its adapter.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$here"
m2="${MAVEN_REPO_LOCAL:-$here/.m2}"
# Maven 3.8 writes colour resets even in batch mode: its output is shown without them.
mkdir -p target
status=0
mvn -q -B -Dmaven.repo.local="$m2" test dependency:build-classpath -Dmdep.outputFile=target/cp.txt \
  > target/mvn.log 2>&1 || status=$?
sed 's/\x1b\[[0-9;]*m//g' target/mvn.log
[ "$status" -eq 0 ] || exit "$status"
"$repo/conformance/run" --expect-passed 144 --expect-na-capabilities "" -- java -cp "$here/target/classes:$(cat target/cp.txt)" dev.riverboat.ConformanceAdapter
