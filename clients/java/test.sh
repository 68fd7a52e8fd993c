#!/bin/sh
# Builds the Java client, runs its unit tests and the conformance suite against its adapter.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$here"
m2="${MAVEN_REPO_LOCAL:-$here/.m2}"
mvn -q -B -Dmaven.repo.local="$m2" test dependency:build-classpath -Dmdep.outputFile=target/cp.txt
"$repo/conformance/run" -- java -cp "$here/target/classes:$(cat target/cp.txt)" dev.riverboat.ConformanceAdapter
