"""Runs one SQL query with DuckDB over Nexmark CSV files (see scripts/duckdb.sh).

Tables person, auction and bid have Flink's Nexmark column names and types
(dateTime and expires are TIMESTAMPs). Each result row is printed as a JSON array:
integers as numbers, floating-point values rounded to 3 decimals, timestamps as
milliseconds since the epoch, NULL as null.
"""
import datetime
import decimal
import json
import sys

import duckdb

COLUMNS = {
    "person": {
        "id": "BIGINT", "name": "VARCHAR", "emailAddress": "VARCHAR", "creditCard": "VARCHAR",
        "city": "VARCHAR", "state": "VARCHAR", "dateTime": "TIMESTAMP", "extra": "VARCHAR",
    },
    "auction": {
        "id": "BIGINT", "itemName": "VARCHAR", "description": "VARCHAR", "initialBid": "BIGINT",
        "reserve": "BIGINT", "dateTime": "TIMESTAMP", "expires": "TIMESTAMP", "seller": "BIGINT",
        "category": "BIGINT", "extra": "VARCHAR",
    },
    "bid": {
        "auction": "BIGINT", "bidder": "BIGINT", "price": "BIGINT", "channel": "VARCHAR",
        "url": "VARCHAR", "dateTime": "TIMESTAMP", "extra": "VARCHAR",
    },
}

EPOCH = datetime.datetime(1970, 1, 1)


def value(v):
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, (float, decimal.Decimal)):
        return round(float(v), 3)
    if isinstance(v, datetime.datetime):
        return (v - EPOCH) // datetime.timedelta(milliseconds=1)
    return str(v)


def main():
    directory, sql = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    for table, columns in COLUMNS.items():
        spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_csv('{directory}/{table}.csv', "
            f"header = true, quote = '\"', escape = '\"', "
            f"columns = {{{spec}}})"
        )
    out = sys.stdout
    for row in con.execute(sql).fetchall():
        out.write(json.dumps([value(v) for v in row]))
        out.write("\n")


main()
