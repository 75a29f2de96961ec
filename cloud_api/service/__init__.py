"""The serving kit both services share (the cloud and the shop box), apart from the wire contract.

    errors.py    ServiceError and its HTTP-mapped tree (one JSON error shape everywhere)
    web.py       the error middleware and request parsing (JSON bodies into pydantic models)
    cli.py       the CLI rule: one line on stderr and a non-zero exit for bad input
    serving.py   the serving loop: bind, sd_notify READY/WATCHDOG/STATUS, stop cleanly on SIGTERM
    systemd.py   sd_notify without a C dependency
    clock.py     timestamps as every tier writes them
    tokens.py    bearer tokens and their digests

It lives under cloud_api only because one distribution ships both services and the
gateway may import nothing else of the cloud; it knows nothing of either service.
"""
