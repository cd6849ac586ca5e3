#!/bin/sh
# Entry point of the master image: creates the master in /var/lib/buildbot on first
# start (keeping a master.cfg put there), upgrades its database, runs it in the foreground.
set -e
BASEDIR=${BUILDBOT_BASEDIR:-/var/lib/buildbot}
if [ ! -f "$BASEDIR/buildbot.tac" ]; then
  buildbot create-master -r "$BASEDIR"
fi
[ -f "$BASEDIR/master.cfg" ] || cp "$BASEDIR/master.cfg.sample" "$BASEDIR/master.cfg"
buildbot upgrade-master "$BASEDIR"
exec buildbot start --nodaemon "$BASEDIR"
