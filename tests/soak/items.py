"""What the soak left in the table: items by kind, items without a TTL, and items whose
lifetime (`exp`, ms) has passed but are still stored. Prints one JSON object.

    items.py ENDPOINT TABLE
"""
import json
import sys
import time
from collections import Counter

import boto3


def main(endpoint: str, table: str) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    now_ms = time.time() * 1000
    kinds, without_ttl, expired = Counter(), Counter(), Counter()
    for page in client.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            kind = item["pk"]["S"].split("#", 1)[0]
            kinds[kind] += 1
            if "ttl" not in item:
                without_ttl[kind] += 1
            if "exp" in item and float(item["exp"]["N"]) < now_ms:
                expired[kind] += 1
    print(json.dumps({
        "items": sum(kinds.values()),
        "by_kind": kinds,
        "without_ttl": without_ttl,
        "expired": sum(expired.values()),
        "expired_by_kind": expired,
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
