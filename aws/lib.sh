# shellcheck shell=bash disable=SC2154
# (stack, bucket and region are set by the script that sources this file.)
# Shared by deploy.sh and teardown.sh: the AWS CLI wrapper, preflight checks, names.

# Every AWS call goes through here. AWS_ENDPOINT_URL (honoured natively by recent CLIs) is also
# passed as --endpoint-url, so older CLIs aim at an emulator too (the tests use moto server).
awsc() {
    if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
        aws --endpoint-url "$AWS_ENDPOINT_URL" --region "$region" "$@"
    else
        aws --region "$region" "$@"
    fi
}

die() {
    echo "error: $*" >&2
    exit 1
}

say() {
    echo "==> $*"
}

# Checks the CLI, the region and the credentials, and sets `region` and `account`.
preflight() {
    command -v aws >/dev/null 2>&1 || die "the AWS CLI ('aws') is not installed or not on PATH.
  Install it (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html,
  or 'pip install awscli'), then run 'aws configure'."
    if [ -z "${region:-}" ]; then
        region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
    fi
    if [ -z "$region" ]; then
        region="$(aws configure get region 2>/dev/null || true)"
    fi
    [ -n "$region" ] || die "no AWS region: pass --region, set AWS_REGION, or run 'aws configure'."
    local out
    if ! out="$(awsc sts get-caller-identity --query Account --output text 2>&1)"; then
        die "no usable AWS credentials for region $region:
  $out
  Run 'aws configure' (or 'aws sso login'), or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and
  AWS_SECRET_ACCESS_KEY."
    fi
    account="$out"
    say "AWS account $account, region $region${AWS_ENDPOINT_URL:+, endpoint $AWS_ENDPOINT_URL}"
}

# Stack names: lowercase, so that the bucket name derived from them is valid.
check_stack_name() {
    [[ "$1" =~ ^[a-z][a-z0-9-]{0,29}$ ]] ||
        die "stack name '$1': use 1 to 30 lowercase letters, digits and hyphens, starting with a letter"
}

# The release bucket's name, derived from the stack, account and region so that teardown finds
# it even when a deploy failed before the stack existed.
default_bucket() {
    echo "$stack-$account-$region-releases" | cut -c1-63 | sed 's/[-.]*$//'
}

# The stack's status, or NONE when there is no such stack.
stack_status() {
    local out
    if out="$(awsc cloudformation describe-stacks --stack-name "$stack" \
        --query 'Stacks[0].StackStatus' --output text 2>&1)"; then
        echo "$out"
    elif [[ "$out" == *"does not exist"* ]]; then
        echo NONE
    else
        die "cannot read the state of stack $stack: $out"
    fi
}

# Waits until the stack leaves every *_IN_PROGRESS state; prints the final status.
wait_stack() {
    local deadline=$((SECONDS + ${TOYSTORE_WAIT_SECONDS:-2400})) status
    while :; do
        status="$(stack_status)"
        case "$status" in
            *_IN_PROGRESS) ;;
            *) echo "$status"; return 0 ;;
        esac
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "$status"
            return 0
        fi
        echo "    ... $status" >&2
        sleep "${TOYSTORE_POLL_SECONDS:-15}"
    done
}

# The failure reasons CloudFormation recorded, most recent first.
print_failures() {
    echo "CloudFormation's reasons (most recent first):" >&2
    awsc cloudformation describe-stack-events --stack-name "$stack" \
        --query "StackEvents[?contains(ResourceStatus, 'FAILED')].[LogicalResourceId, ResourceStatusReason]" \
        --output text 2>/dev/null | head -n 15 | sed 's/^/    /' >&2 || true
}

bucket_exists() {
    awsc s3api head-bucket --bucket "$bucket" >/dev/null 2>&1
}
