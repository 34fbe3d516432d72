# shellcheck shell=sh
# RPM %post on the Fuel master: put the master-migration script on PATH.
# The core tool /usr/bin/fuel-migrate is left alone.
ln -sfn /var/www/nailgun/plugins/reduced-footprint-1.0/bin/rf-migrate-master /usr/bin/rf-migrate-master
