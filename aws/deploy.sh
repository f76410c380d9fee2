#!/usr/bin/env bash
# Deploys the toy store on AWS in one command: builds the release binary, uploads the release
# bundle to the stack's S3 bucket, creates the CloudFormation stack (or updates it), waits for
# it, and prints the store's URL. Idempotent: run it again to ship a new build or change a
# parameter; an unchanged deployment is left as it is.
#
# Usage: aws/deploy.sh [options]
#   --stack NAME          stack name (default: toystore, or $TOYSTORE_STACK)
#   --layout L            single (default) or spread; fixed once the stack exists
#   --allowed-cidr CIDR   who may reach port 8080 (and SSH); required on the first deploy
#   --instance-type T     EC2 instance type (default t3.small; kept on updates unless given)
#   --key-name NAME       EC2 key pair for SSH (default: none)
#   --region R            AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION, aws configure)
#   --binary PATH         ship this toystore binary instead of building one
#   --bucket NAME         release bucket (default: <stack>-<account>-<region>-releases)
#   --image-id AMI        AMI to use (default: latest Amazon Linux 2023 on the first deploy, then
#                         the stack's current one: a new AMI replaces every instance and its data)
#
# Environment: AWS_ENDPOINT_URL aims every call at another endpoint (an emulator in the tests);
# TOYSTORE_POLL_SECONDS and TOYSTORE_WAIT_SECONDS set how often and how long to wait for the stack.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

stack="${TOYSTORE_STACK:-toystore}" layout="" cidr="" instance_type="" key_name="-"
region="" binary="" bucket="" image_id=""
while [ $# -gt 0 ]; do
    case "$1" in
        --stack) stack="${2:?--stack needs a name}"; shift 2 ;;
        --layout) layout="${2:?--layout needs single or spread}"; shift 2 ;;
        --allowed-cidr) cidr="${2:?--allowed-cidr needs a CIDR}"; shift 2 ;;
        --instance-type) instance_type="${2:?--instance-type needs a type}"; shift 2 ;;
        --key-name) key_name="${2?--key-name needs a name}"; shift 2 ;;
        --region) region="${2:?--region needs a region}"; shift 2 ;;
        --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
        --bucket) bucket="${2:?--bucket needs a name}"; shift 2 ;;
        --image-id) image_id="${2:?--image-id needs an AMI id}"; shift 2 ;;
        -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
check_stack_name "$stack"
case "$layout" in "" | single | spread) ;; *) die "--layout must be single or spread" ;; esac
if [ -n "$cidr" ]; then
    [[ "$cidr" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$ ]] ||
        die "--allowed-cidr '$cidr' is not an IPv4 CIDR (e.g. 203.0.113.7/32)"
    [ "$cidr" != 0.0.0.0/0 ] ||
        echo "warning: --allowed-cidr 0.0.0.0/0 opens the store to the whole internet" >&2
fi

preflight
[ -n "$bucket" ] || bucket="$(default_bucket)"

# What is there already decides between create and update.
status="$(stack_status)"
case "$status" in
    *_IN_PROGRESS) die "stack $stack is busy ($status); wait for it to finish, then run this again" ;;
    ROLLBACK_COMPLETE | ROLLBACK_FAILED | DELETE_FAILED)
        # A stack whose creation failed cannot be updated, only deleted and created again.
        print_failures
        say "stack $stack is $status (its creation failed): deleting it to start over"
        awsc cloudformation delete-stack --stack-name "$stack"
        status="$(wait_stack)"
        [ "$status" = NONE ] || die "could not delete stack $stack (status $status)"
        ;;
esac
previous() { # the stack's current value of a parameter
    awsc cloudformation describe-stacks --stack-name "$stack" --output text \
        --query "Stacks[0].Parameters[?ParameterKey=='$1'].ParameterValue | [0]"
}
if [ "$status" != NONE ]; then
    current_layout="$(previous Layout)"
    if [ -n "$layout" ] && [ "$layout" != "$current_layout" ]; then
        die "stack $stack runs the $current_layout layout; changing the layout of a running store
  would strand its order log. Tear it down first (aws/teardown.sh --stack $stack), or use
  another --stack name."
    fi
    layout="$current_layout"
else
    layout="${layout:-single}"
    [ -n "$cidr" ] || die "--allowed-cidr is required for a new stack: the CIDR that may reach the
  store, e.g. your own address as a /32 (curl -s https://checkip.amazonaws.com)."
fi

# 1. The binary.
if [ -z "$binary" ]; then
    command -v cargo >/dev/null 2>&1 || die "cargo is not installed: install Rust, or pass --binary PATH"
    say "building the release binary (cargo build --release --locked)"
    (cd "$repo" && cargo build --release --locked --bin toystore)
    binary="${CARGO_TARGET_DIR:-$repo/target}/release/toystore"
fi
[ -x "$binary" ] || die "no executable binary at $binary"
# EC2 runs it: it must be an x86-64 Linux (ELF) executable, and ask no newer glibc than
# Amazon Linux 2023's 2.34.
if [ "$(od -An -tx1 -j0 -N4 "$binary" | tr -d ' \n')" != 7f454c46 ] ||
    [ "$(od -An -tx1 -j18 -N2 "$binary" | tr -d ' \n')" != 3e00 ]; then
    die "$binary is not an x86-64 Linux executable; build on x86-64 Linux or pass --binary"
fi
if command -v objdump >/dev/null 2>&1; then
    newest="$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -n1 || true)"
    if [ -n "$newest" ] && [ "$(printf '%s\nGLIBC_2.34\n' "$newest" | sort -V | tail -n1)" != GLIBC_2.34 ]; then
        die "$binary needs $newest, newer than Amazon Linux 2023's glibc 2.34: build it on an
  older distribution (Debian 12 works), or in an Amazon Linux 2023 container"
    fi
fi

# 2. The release bundle: binary, catalog, install scripts and units, named by its content.
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bundle/units"
cp "$binary" "$stage/bundle/toystore"
cp "$repo/data/products.json" "$here/install.sh" "$here/cluster-config.sh" "$here/README.md" "$stage/bundle/"
cp "$here"/units/*.service "$stage/bundle/units/"
digest="$(cd "$stage/bundle" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)"
key="releases/toystore-$digest.tar.gz"
tar -czf "$stage/release.tar.gz" -C "$stage/bundle" .

# 3. The bucket, private, and the bundle in it.
if bucket_exists; then
    say "release bucket s3://$bucket exists"
else
    say "creating release bucket s3://$bucket"
    if [ "$region" = us-east-1 ]; then
        awsc s3api create-bucket --bucket "$bucket" >/dev/null
    else
        awsc s3api create-bucket --bucket "$bucket" \
            --create-bucket-configuration "LocationConstraint=$region" >/dev/null
    fi
    awsc s3api put-public-access-block --bucket "$bucket" --public-access-block-configuration \
        BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
fi
if awsc s3api head-object --bucket "$bucket" --key "$key" >/dev/null 2>&1; then
    say "release s3://$bucket/$key is already uploaded"
else
    say "uploading s3://$bucket/$key ($(du -h "$stage/release.tar.gz" | cut -f1))"
    awsc s3 cp --only-show-errors "$stage/release.tar.gz" "s3://$bucket/$key"
fi

# 4. The stack's parameters: given values, else the stack's current ones, else defaults.
json_param() { # key value
    local value="${2//\\/\\\\}"
    printf '{"ParameterKey":"%s","ParameterValue":"%s"}' "$1" "${value//\"/\\\"}"
}
keep_param() {
    printf '{"ParameterKey":"%s","UsePreviousValue":true}' "$1"
}
params=("$(json_param Layout "$layout")" "$(json_param ReleaseBucket "$bucket")"
    "$(json_param ReleaseKey "$key")")
if [ "$status" = NONE ]; then
    if [ -z "$image_id" ]; then
        image_id="$(awsc ssm get-parameter --output text --query Parameter.Value \
            --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64)" ||
            die "cannot look up the Amazon Linux 2023 AMI; pass --image-id"
    fi
    [ "$key_name" != "-" ] || key_name=""
    params+=("$(json_param AllowedCidr "$cidr")" "$(json_param ImageId "$image_id")"
        "$(json_param InstanceType "${instance_type:-t3.small}")" "$(json_param KeyName "$key_name")")
else
    for pair in "AllowedCidr:$cidr" "ImageId:$image_id" "InstanceType:$instance_type" "KeyName:$key_name"; do
        name="${pair%%:*}" value="${pair#*:}"
        if [ -z "$value" ] || { [ "$name" = KeyName ] && [ "$value" = "-" ]; }; then
            params+=("$(keep_param "$name")")
        else
            params+=("$(json_param "$name" "$value")")
        fi
    done
fi
parameters="[$(IFS=,; echo "${params[*]}")]"

# 5. Create or update, and wait.
if [ "$status" = NONE ]; then
    say "creating stack $stack (layout $layout)"
    awsc cloudformation create-stack --stack-name "$stack" \
        --template-body "file://$here/template.yaml" --parameters "$parameters" \
        --capabilities CAPABILITY_IAM --tags Key=project,Value=toystore >/dev/null
    expected=CREATE_COMPLETE
else
    say "updating stack $stack (layout $layout, was $status)"
    expected=UPDATE_COMPLETE
    if ! out="$(awsc cloudformation update-stack --stack-name "$stack" \
        --template-body "file://$here/template.yaml" --parameters "$parameters" \
        --capabilities CAPABILITY_IAM --tags Key=project,Value=toystore 2>&1)"; then
        if [[ "$out" == *"No updates are to be performed"* ]]; then
            say "stack $stack is already up to date"
            expected="$status"
        else
            die "update of stack $stack refused: $out"
        fi
    fi
fi
say "waiting for stack $stack (instances boot and install the release; about 3-5 minutes)"
final="$(wait_stack)"
if [ "$final" != "$expected" ] && [ "$final" != UPDATE_COMPLETE ] && [ "$final" != CREATE_COMPLETE ]; then
    print_failures
    die "stack $stack ended $final (wanted $expected); see the reasons above, and the
  instances' /var/log/toystore-install.log and 'journalctl -u toystore-*'"
fi

# 6. Where it is.
say "stack $stack is $final"
awsc cloudformation describe-stacks --stack-name "$stack" --output text \
    --query 'Stacks[0].Outputs[].[OutputKey, OutputValue]' | LC_ALL=C sort | sed 's/^/    /'
url="$(awsc cloudformation describe-stacks --stack-name "$stack" --output text \
    --query "Stacks[0].Outputs[?OutputKey=='FrontendUrl'].OutputValue | [0]")"
echo
echo "The store: $url"
echo "Try:  curl -s $url/products/Tux"
echo "      curl -s -X POST $url/orders -H 'content-type: application/json' -d '{\"name\":\"Tux\",\"quantity\":1}'"
echo "Remove everything with: aws/teardown.sh --stack $stack --region $region"
