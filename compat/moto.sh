#!/usr/bin/env bash
# Starts a local S3 server (moto, from PyPI) on loopback WITH signature checking on, for the
# S3 blob store's tests: after three unchecked IAM calls (a user, its access key, a policy
# allowing s3:*), every request must carry a valid SigV4 signature from that key, so a wrong
# secret fails as it would on AWS. Creates the bucket and writes the settings to an env file.
#
#   bash compat/moto.sh start [ENV_FILE]   # default ENV_FILE /tmp/modeltrail-moto.env
#   . /tmp/modeltrail-moto.env             # TRAIL_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY
#   bash compat/moto.sh stop [ENV_FILE]
#
# Environment: MOTO_VENV (default /tmp/modeltrail-moto-venv), MOTO_PORT (default 5055).
# The first start installs moto[server] from PyPI into MOTO_VENV (network and python3-venv needed);
# the server's log is /tmp/modeltrail-moto-PORT.log.
set -euo pipefail
cd "$(dirname "$0")/.."
action="${1:-start}"
env_file="${2:-/tmp/modeltrail-moto.env}"
venv="${MOTO_VENV:-/tmp/modeltrail-moto-venv}"
port="${MOTO_PORT:-5055}"
requirements="$PWD/compat/moto-requirements.txt"

if [ "$action" = "stop" ]; then
  if [ -f "$env_file" ]; then
    pid=$(sed -n 's/^MOTO_PID=//p' "$env_file")
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$env_file"
  fi
  exit 0
fi

pinned=$(sed -n 's/^moto\[server\]==\([^ ]*\).*/\1/p' "$requirements")
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('moto') != '$pinned')" 2>/dev/null; then
  echo "moto: installing moto[server]==$pinned into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
fi

# Something already answering on the port would be mistaken for this server.
if "$venv/bin/python" -c "import socket; socket.create_connection(('127.0.0.1', $port), timeout=1)" 2>/dev/null; then
  echo "moto: 127.0.0.1:$port is already in use (stop it, or set MOTO_PORT)" >&2
  exit 1
fi
# Three unchecked actions, spent on IAM below; everything after them is signature-checked.
log="/tmp/modeltrail-moto-$port.log"
INITIAL_NO_AUTH_ACTION_COUNT=3 "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=2)" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "moto: the server did not start" >&2; exit 1; }
  sleep 0.2
done

"$venv/bin/python" - "$port" "$env_file" "$pid" <<'EOF'
import json, sys
import boto3
port, env_file, pid = sys.argv[1], sys.argv[2], sys.argv[3]
endpoint = f"http://127.0.0.1:{port}"
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="modeltrail")
key = iam.create_access_key(UserName="modeltrail")["AccessKey"]
iam.put_user_policy(UserName="modeltrail", PolicyName="s3-all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
s3.create_bucket(Bucket="modeltrail-test")
# Checking is on: a wrong secret must be refused.
bad = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id=key["AccessKeyId"], aws_secret_access_key="wrong" + key["SecretAccessKey"])
try:
    bad.list_objects_v2(Bucket="modeltrail-test")
    sys.exit("moto: signature checking is off (a wrong secret was accepted)")
except Exception as error:
    assert "SignatureDoesNotMatch" in str(error), error
with open(env_file, "w") as out:
    out.write(f"export TRAIL_TEST_S3_ENDPOINT={endpoint}\n")
    out.write("export TRAIL_TEST_S3_BUCKET=modeltrail-test\n")
    out.write(f"export TRAIL_TEST_S3_ACCESS_KEY_ID={key['AccessKeyId']}\n")
    out.write(f"export TRAIL_TEST_S3_SECRET_ACCESS_KEY={key['SecretAccessKey']}\n")
    out.write(f"MOTO_PID={pid}\n")
print(f"moto: S3 on {endpoint} (pid {pid}), signature checking on, bucket modeltrail-test; settings in {env_file}")
EOF
