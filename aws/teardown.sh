#!/usr/bin/env bash
# Removes a deployment made by aws/deploy.sh: the CloudFormation stack (instances and their data,
# network, security group, role, token secret) and the release bucket with every release in it.
# Says what it deleted. Idempotent: what is already gone is reported and skipped.
#
# Usage: aws/teardown.sh [--stack NAME] [--region R] [--bucket NAME] [--keep-bucket]
# Environment: AWS_ENDPOINT_URL, TOYSTORE_POLL_SECONDS, TOYSTORE_WAIT_SECONDS as for deploy.sh.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

stack="${TOYSTORE_STACK:-toystore}" region="" bucket="" keep_bucket=0
while [ $# -gt 0 ]; do
    case "$1" in
        --stack) stack="${2:?--stack needs a name}"; shift 2 ;;
        --region) region="${2:?--region needs a region}"; shift 2 ;;
        --bucket) bucket="${2:?--bucket needs a name}"; shift 2 ;;
        --keep-bucket) keep_bucket=1; shift ;;
        -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
check_stack_name "$stack"
preflight
[ -n "$bucket" ] || bucket="$(default_bucket)"
deleted=()

# 1. The stack, and with it everything it made.
status="$(stack_status)"
case "$status" in
    NONE) say "no stack $stack in $region: nothing to delete there" ;;
    *)
        if [[ "$status" == *_IN_PROGRESS && "$status" != DELETE_IN_PROGRESS ]]; then
            say "stack $stack is busy ($status): waiting for it first"
            status="$(wait_stack)"
        fi
        secret="$(awsc cloudformation describe-stack-resources --stack-name "$stack" --output text \
            --query "StackResources[?LogicalResourceId=='TokenSecret'].PhysicalResourceId | [0]" || true)"
        say "deleting stack $stack ($status), with these resources:"
        awsc cloudformation describe-stack-resources --stack-name "$stack" --output text \
            --query 'StackResources[].[ResourceType, PhysicalResourceId]' | LC_ALL=C sort | sed 's/^/    /'
        awsc cloudformation delete-stack --stack-name "$stack"
        final="$(wait_stack)"
        if [ "$final" != NONE ] && [ "$final" != DELETE_COMPLETE ]; then
            print_failures
            die "stack $stack did not delete (status $final); fix the reasons above and run this again"
        fi
        deleted+=("stack $stack and the resources listed above (instances with their data, network, security group, role, token secret)")
        # A secret deleted through CloudFormation may sit out a recovery window; end it now, so
        # nothing of the stack is left (forcing is a no-op for a secret already gone).
        if [ -n "$secret" ] && [ "$secret" != None ]; then
            awsc secretsmanager delete-secret --secret-id "$secret" \
                --force-delete-without-recovery >/dev/null 2>&1 || true
            deleted+=("cluster token secret $secret (no recovery window)")
        fi
        ;;
esac

# 2. The release bucket.
if [ "$keep_bucket" = 1 ]; then
    say "keeping s3://$bucket as asked"
elif bucket_exists; then
    say "deleting s3://$bucket and these objects:"
    awsc s3 ls --recursive "s3://$bucket" | sed 's/^/    /'
    awsc s3 rm --only-show-errors --recursive "s3://$bucket"
    awsc s3api delete-bucket --bucket "$bucket"
    deleted+=("release bucket s3://$bucket with every release in it")
else
    say "no bucket s3://$bucket: nothing to delete there"
fi

if [ "${#deleted[@]}" -eq 0 ]; then
    say "nothing was deployed as stack $stack in $region: nothing deleted"
else
    say "deleted:"
    printf '    %s\n' "${deleted[@]}"
fi
