#!/bin/sh
# Starts Asterisk with the callcenter configuration (docs/deployment.md):
#  1. copies the mounted docker/asterisk/*.conf into /etc/asterisk (the package's other
#     files, such as indications.conf, stay);
#  2. writes the lines that hold secrets or site addresses from the environment into the
#     small files those configs #include, so no secret sits in the repository;
#  3. points /etc/localtime at $TZ: Asterisk's own time code (main/stdtime/localtime.c)
#     reads /etc/localtime and ignores TZ on Linux, and CDR dates are written in that zone;
#  4. gives the folders shared with the service to user asterisk and group callcenter;
#  5. runs Asterisk in the foreground as user asterisk.
# "entrypoint.sh render" does step 2 only, into $ASTERISK_CONF_DIR (the tests use it).
set -eu

CONF_SRC=${ASTERISK_CONF_SRC:-/etc/callcenter/asterisk}
CONF_DIR=${ASTERISK_CONF_DIR:-/etc/asterisk}
SHARED_GROUP=${SHARED_GROUP:-callcenter}
GENERATED="manager_callcenter_secret.conf pjsip_seat_password.conf voicemail_boxes.conf pjsip_transport_nat.conf"

fail() {
    echo "asterisk-entrypoint: $*" >&2
    exit 64
}

# A value written into an Asterisk config line: ";" would start a comment and a newline a
# new line, so anything but these characters is refused rather than escaped.
check_value() { # name value minimum-length
    case "$2" in
    *[!A-Za-z0-9._~+/=@%:-]*) fail "$1 may hold only letters, digits and ._~+/=@%:-" ;;
    esac
    [ "${#2}" -ge "$3" ] || fail "$1 must be set, at least $3 characters"
}

render() {
    check_value AMI_SECRET "${AMI_SECRET:-}" 16
    check_value SEAT_PASSWORD "${SEAT_PASSWORD:-}" 8
    case "${VOICEMAIL_PIN:-}" in
    "" | *[!0-9]*) fail "VOICEMAIL_PIN must be set, digits only" ;;
    esac
    old_umask=$(umask)
    umask 027
    printf 'secret = %s\n' "$AMI_SECRET" >"$CONF_DIR/manager_callcenter_secret.conf"
    printf 'password = %s\n' "$SEAT_PASSWORD" >"$CONF_DIR/pjsip_seat_password.conf"
    printf '100 => %s,Hotline\n' "$VOICEMAIL_PIN" >"$CONF_DIR/voicemail_boxes.conf"
    if [ -n "${ASTERISK_EXTERNAL_ADDRESS:-}" ]; then
        check_value ASTERISK_EXTERNAL_ADDRESS "$ASTERISK_EXTERNAL_ADDRESS" 1
        printf 'external_media_address = %s\nexternal_signaling_address = %s\n' \
            "$ASTERISK_EXTERNAL_ADDRESS" "$ASTERISK_EXTERNAL_ADDRESS" \
            >"$CONF_DIR/pjsip_transport_nat.conf"
    else
        : >"$CONF_DIR/pjsip_transport_nat.conf"
    fi
    umask "$old_umask"
}

case "${1:-run}" in
render)
    render
    exit 0
    ;;
run) ;;
*) exec "$@" ;;
esac

[ -f "$CONF_SRC/manager.conf" ] || fail "no Asterisk configuration in $CONF_SRC (mount docker/asterisk there)"
cp "$CONF_SRC"/*.conf "$CONF_DIR"/
render
for name in $GENERATED; do
    chgrp asterisk "$CONF_DIR/$name"
done

if [ -n "${TZ:-}" ]; then
    [ -f "/usr/share/zoneinfo/$TZ" ] || fail "TZ=$TZ: no such zone in /usr/share/zoneinfo"
    ln -sf "/usr/share/zoneinfo/$TZ" /etc/localtime
    echo "$TZ" >/etc/timezone
fi

# Chinese queue announcements and numbers (`callcenter prompts build` writes them to the
# prompt audio's asterisk/zh): Asterisk looks for a zh channel's sounds in sounds/zh and
# ships none. An installed Chinese sound set is left alone.
SOUNDS=/usr/share/asterisk/sounds
if [ -d "$SOUNDS/callcenter/asterisk/zh" ] && [ ! -e "$SOUNDS/zh" ]; then
    ln -s "$SOUNDS/callcenter/asterisk/zh" "$SOUNDS/zh"
fi

# The recordings, queue_log and Master.csv are read (and old recordings deleted) by the
# service, whose user is in group callcenter: setgid folders keep that group on new files.
for dir in /var/spool/asterisk/monitor /var/log/asterisk /var/log/asterisk/cdr-custom; do
    mkdir -p "$dir"
    chown asterisk:"$SHARED_GROUP" "$dir"
    chmod 2775 "$dir"
done
umask 0002 # files 0664 and folders 0775: the group may read them, and delete recordings

# -U without -G: Asterisk then keeps user asterisk's supplementary groups (callcenter).
exec asterisk -f -n -U asterisk -vvv
