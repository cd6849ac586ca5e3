#!/bin/sh
# Entry point of the worker image: creates the worker directory from the variables a
# DockerLatentWorker passes (BUILDMASTER, BUILDMASTER_PORT, WORKERNAME, WORKERPASS) and
# runs the worker in the foreground, so that the container lives as long as the worker.
set -e
: "${BUILDMASTER:?BUILDMASTER is not set}"
: "${WORKERNAME:?WORKERNAME is not set}"
: "${WORKERPASS:?WORKERPASS is not set}"
BASEDIR=${WORKER_BASEDIR:-/buildbot/worker}
PYTHON=${PYTHON:-python3}
MASTER=$BUILDMASTER:${BUILDMASTER_PORT:-9989}
PROTOCOL=${BUILDMASTER_PROTOCOL:-pb}
mkdir -p "$BASEDIR"
"$PYTHON" -m buildbot_worker.scripts.runner create-worker -q --force \
  --protocol="$PROTOCOL" "$BASEDIR" "$MASTER" "$WORKERNAME" "$WORKERPASS"
# the password is in buildbot.tac now: keep it out of the build's environment
unset WORKERPASS
exec "$PYTHON" -m buildbot_worker.scripts.runner start --nodaemon "$BASEDIR"
