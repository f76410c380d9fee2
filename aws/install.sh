#!/usr/bin/env bash
# Installs (or re-installs) the store on one host from an unpacked release bundle: the binary,
# the catalog, the cluster file with the private addresses and the token, and the systemd units
# of the services this host runs, then enables and starts them. Run by the EC2 user data at every
# boot (so a stack update that ships a new release takes effect); idempotent: a service restarts
# only when its binary, cluster file or unit changed.
#
# Usage (as root, from the unpacked bundle):
#   install.sh --role single|web|frontend-2|order-1|order-2|order-3 --web IP
#              [--orders IP1,IP2,IP3] [--frontend2 IP]
#              (--secret-id ARN --region REGION | --token-file FILE)
#              [--root DIR] [--no-start] [--signal URL]
#
#   --frontend2 IP  the spread layout's second frontend (behind the load balancer with the first)
#   --root DIR   install under DIR instead of / and start nothing (tests; implies --no-start)
#   --signal URL a CloudFormation wait-condition URL: report success once the services run
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
role="" web="" orders="" frontend2="" secret_id="" region="" token_file="" root="" start=1 signal=""

die() {
    echo "install.sh: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case "$1" in
        --role) role="${2:?}"; shift 2 ;;
        --web) web="${2:?}"; shift 2 ;;
        --orders) orders="${2:?}"; shift 2 ;;
        --frontend2) frontend2="${2:?}"; shift 2 ;;
        --secret-id) secret_id="${2:?}"; shift 2 ;;
        --region) region="${2:?}"; shift 2 ;;
        --token-file) token_file="${2:?}"; shift 2 ;;
        --root) root="${2:?}"; start=0; shift 2 ;;
        --no-start) start=0; shift ;;
        --signal) signal="${2:?}"; shift 2 ;;
        -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done

# Which services this host runs, and the layout its cluster file describes.
case "$role" in
    single) layout=single; units=(toystore-catalog.service toystore-order@1.service toystore-order@2.service toystore-order@3.service toystore-frontend@1.service) ;;
    web) layout=spread; units=(toystore-catalog.service toystore-frontend@1.service) ;;
    frontend-2) layout=spread; units=(toystore-frontend@2.service) ;;
    order-1 | order-2 | order-3) layout=spread; units=("toystore-order@${role#order-}.service") ;;
    *) die "--role must be single, web, frontend-2, order-1, order-2 or order-3" ;;
esac
for file in toystore products.json cluster-config.sh units/toystore-catalog.service \
    units/toystore-order@.service units/toystore-frontend@.service; do
    [ -e "$here/$file" ] || die "the release bundle lacks $file (looked in $here)"
done

# The cluster token: from Secrets Manager on EC2 (the instance role may read that one secret),
# from a file in tests.
if [ -n "$token_file" ]; then
    token="$(tr -d '\n' <"$token_file")"
elif [ -n "$secret_id" ]; then
    [ -n "$region" ] || die "--secret-id needs --region"
    token=""
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        if token="$(aws secretsmanager get-secret-value --region "$region" --secret-id "$secret_id" \
            --query SecretString --output text)"; then
            break
        fi
        echo "install.sh: cannot read the cluster token yet (attempt $attempt), retrying" >&2
        sleep 3
    done
    [ -n "$token" ] || die "cannot read the cluster token from $secret_id"
else
    die "give --secret-id ARN --region REGION, or --token-file FILE"
fi

etc="$root/etc/toystore"
unit_dir="$root/etc/systemd/system"
bin="$root/usr/local/bin/toystore"
mkdir -p "$etc" "$unit_dir" "$(dirname "$bin")" "$root/opt/toystore"

# A dedicated system user with no login; its home is the state directory.
if [ -z "$root" ] && ! id -u toystore >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/toystore --no-create-home \
        --shell /sbin/nologin toystore
fi
group=toystore
[ -z "$root" ] || group="$(id -gn)"

# Fingerprint of everything the services read, to restart them only on a change.
fingerprint() {
    { cat "$bin" "$etc/cluster.toml" "$etc/products.json" "$unit_dir"/toystore-*.service \
        2>/dev/null || true; } | sha256sum | cut -d' ' -f1
}
before="$(fingerprint)"

install -m 0755 "$here/toystore" "$bin.new" && mv -f "$bin.new" "$bin"
install -m 0644 "$here/products.json" "$etc/products.json"
[ ! -e "$here/README.md" ] || install -m 0644 "$here/README.md" "$root/opt/toystore/README.md"
config_args=(--layout "$layout" --web "$web" --token "$token"
    --data-root /var/lib/toystore --products /etc/toystore/products.json)
[ "$layout" = single ] || config_args+=(--orders "$orders")
[ -z "$frontend2" ] || config_args+=(--frontend2 "$frontend2")
[ "$role" != frontend-2 ] || [ -n "$frontend2" ] || die "--role frontend-2 needs --frontend2 IP"
# The cluster file holds the token: readable by root and the service user only.
(
    umask 027
    "$here/cluster-config.sh" "${config_args[@]}" >"$etc/cluster.toml.new"
)
chgrp "$group" "$etc/cluster.toml.new"
chmod 0640 "$etc/cluster.toml.new"
mv -f "$etc/cluster.toml.new" "$etc/cluster.toml"
for unit in toystore-catalog.service toystore-order@.service toystore-frontend@.service; do
    install -m 0644 "$here/units/$unit" "$unit_dir/$unit"
done
after="$(fingerprint)"

if [ -n "$root" ]; then
    systemctl --root="$root" enable "${units[@]}" >/dev/null
    echo "installed $role under $root: ${units[*]}"
    exit 0
fi
systemctl daemon-reload
systemctl enable "${units[@]}"
if [ "$start" = 1 ]; then
    if [ "$before" != "$after" ]; then
        echo "install.sh: release or configuration changed: (re)starting ${units[*]}"
        systemctl restart "${units[@]}"
    else
        systemctl start "${units[@]}"
    fi
fi

# Tell CloudFormation this host is up once its services run (a frontend once it answers).
case "$role" in
    frontend-2) own_frontend="$frontend2" ;;
    *) own_frontend="$web" ;;
esac
if [ -n "$signal" ] && [ "$start" = 1 ]; then
    status=FAILURE reason="services did not start: see journalctl -u 'toystore-*'"
    for _ in $(seq 1 60); do
        if systemctl is-active --quiet "${units[@]}"; then
            if [ "$role" = order-1 ] || [ "$role" = order-2 ] || [ "$role" = order-3 ] ||
                curl -fsS -o /dev/null --max-time 2 "http://$own_frontend:8080/health"; then
                status=SUCCESS reason="$role: ${units[*]} running"
                break
            fi
        fi
        sleep 2
    done
    curl -fsS --max-time 10 -X PUT -H 'Content-Type:' --data-binary \
        "{\"Status\":\"$status\",\"Reason\":\"$reason\",\"UniqueId\":\"$role\",\"Data\":\"$role\"}" \
        "$signal" || echo "install.sh: could not signal CloudFormation" >&2
fi
echo "install.sh: $role installed: ${units[*]}"
