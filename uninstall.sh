# shellcheck shell=sh
# RPM %preun on removal: drop the link only if it is still ours.
if [ "$(readlink /usr/bin/rf-migrate-master)" = /var/www/nailgun/plugins/reduced-footprint-1.0/bin/rf-migrate-master ]; then
    rm -f /usr/bin/rf-migrate-master
fi
