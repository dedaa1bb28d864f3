"""The peer for the S3 artifact figures: boto3 straight to the S3 server of TRAIL_TEST_S3_* (moto), 512 MiB up and down,
16 MiB parts, 4 threads. Run with the moto venv: /tmp/modeltrail-moto-venv/bin/python bench/s3_peer.py (after . /tmp/modeltrail-moto.env)."""
import os, time, io, boto3
from boto3.s3.transfer import TransferConfig
s3 = boto3.client("s3", endpoint_url=os.environ["TRAIL_TEST_S3_ENDPOINT"], aws_access_key_id=os.environ["TRAIL_TEST_S3_ACCESS_KEY_ID"],
                  aws_secret_access_key=os.environ["TRAIL_TEST_S3_SECRET_ACCESS_KEY"], region_name=os.environ.get("TRAIL_TEST_S3_REGION", "us-east-1"))
data = os.urandom(512 << 20)
bucket = os.environ["TRAIL_TEST_S3_BUCKET"]
cfg = TransferConfig(multipart_chunksize=16 << 20, max_concurrency=4)
t = time.time(); s3.upload_fileobj(io.BytesIO(data), bucket, "bench/boto-peer", Config=cfg); up = time.time() - t
out = io.BytesIO(); t = time.time(); s3.download_fileobj(bucket, "bench/boto-peer", out, Config=cfg); down = time.time() - t
print({"boto3_upload_mib_per_second": round(512 / up, 1), "boto3_download_mib_per_second": round(512 / down, 1)})
