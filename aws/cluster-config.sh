#!/usr/bin/env bash
# Prints the cluster file (TOML) of a deployed store, for one of the two layouts:
#
#   single  every service on one host: the frontend's public listener on the host's private
#           address, every internal listener on loopback;
#   spread  frontend and catalog on the "web" host, each order replica on its own host, every
#           listener on its host's private address; with --frontend2, a second frontend on its
#           own host (the two behind the stack's load balancer).
#
# The same script writes /etc/toystore/cluster.toml on every EC2 instance (install.sh) and the
# configuration of the multi-host test in network namespaces (tests/multihost.rs), so what the
# test runs is what the instances run.
#
# Usage: cluster-config.sh --layout single|spread --web IP [--orders IP1,IP2,IP3]
#                          [--frontend2 IP] --token TOKEN [--data-root DIR] [--products FILE]
#                          [--log-level LEVEL]
set -euo pipefail

# Fixed ports, the same on every host; the security group opens PUBLIC_PORT to the allowed CIDR
# and INTERNAL_PORTS only to members of the group (aws/template.yaml says the same numbers).
PUBLIC_PORT=8080
FRONTEND_INTERNAL_PORT=8100
CATALOG_PORT=8200
REPLICA_PORT_BASE=8300 # replica N listens on 8300 + N

die() {
    echo "cluster-config.sh: $*" >&2
    exit 2
}

layout="" web="" orders="" frontend2="" token=""
data_root="/var/lib/toystore"
products="/etc/toystore/products.json"
log_level="info"
while [ $# -gt 0 ]; do
    case "$1" in
        --layout) layout="${2:?--layout needs a value}"; shift 2 ;;
        --web) web="${2:?--web needs an address}"; shift 2 ;;
        --orders) orders="${2:?--orders needs addresses}"; shift 2 ;;
        --frontend2) frontend2="${2:?--frontend2 needs an address}"; shift 2 ;;
        --token) token="${2:?--token needs a value}"; shift 2 ;;
        --data-root) data_root="${2:?--data-root needs a directory}"; shift 2 ;;
        --products) products="${2:?--products needs a file}"; shift 2 ;;
        --log-level) log_level="${2:?--log-level needs a level}"; shift 2 ;;
        -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done

is_ipv4() {
    [[ "$1" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]
}
[ -n "$web" ] || die "--web is required"
is_ipv4 "$web" || die "--web must be an IPv4 address, got '$web'"
[ -n "$token" ] || die "--token is required (and must not be empty)"
# The token goes into a TOML basic string: keep it to characters that need no escaping.
[[ "$token" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || die "the token may hold only letters, digits and ._~+/=-"

case "$layout" in
    single)
        [ -z "$orders" ] || die "--orders makes no sense with --layout single"
        [ -z "$frontend2" ] || die "--frontend2 makes no sense with --layout single"
        frontend_internal="127.0.0.1"
        catalog="127.0.0.1"
        replicas=(127.0.0.1 127.0.0.1 127.0.0.1)
        ;;
    spread)
        IFS=, read -r -a replicas <<<"$orders"
        [ "${#replicas[@]}" -eq 3 ] || die "--orders needs three comma-separated addresses, got '$orders'"
        for ip in "${replicas[@]}"; do
            is_ipv4 "$ip" || die "--orders: '$ip' is not an IPv4 address"
        done
        frontend_internal="$web"
        catalog="$web"
        [ -z "$frontend2" ] || is_ipv4 "$frontend2" || die "--frontend2 must be an IPv4 address, got '$frontend2'"
        ;;
    *) die "--layout must be single or spread" ;;
esac

cat <<TOML
# Written by aws/cluster-config.sh (layout: $layout). Every service reads this same file.
token = "$token"
data_root = "$data_root"
products = "$products"
log_level = "$log_level"

[catalog]
internal = "$catalog:$CATALOG_PORT"
restock_period_ms = 10000

[[frontend]]
id = 1
public = "$web:$PUBLIC_PORT"
internal = "$frontend_internal:$FRONTEND_INTERNAL_PORT"
cache_size = 64
TOML
if [ -n "$frontend2" ]; then
    cat <<TOML

[[frontend]]
id = 2
public = "$frontend2:$PUBLIC_PORT"
internal = "$frontend2:$FRONTEND_INTERNAL_PORT"
cache_size = 64
TOML
fi
for i in 1 2 3; do
    cat <<TOML

[[replica]]
id = $i
internal = "${replicas[$((i - 1))]}:$((REPLICA_PORT_BASE + i))"
TOML
done
