"""Payouts (SPEC §5, issue #13): the shop's double-entry ledger, its balances, and what other apps' events book.

Where to start: ``payouts.models`` (accounts and the sign convention), ``payouts.services.ledger`` (``post`` and
``book``: the only way money is booked), ``payouts.services.events`` (sale, settlement, refund, ad spend),
``payouts.services.integrity`` (``ledger_verify``), ``payouts.selectors`` (balance, ledger list, pending sales).
Orders reach payouts only through ``backoffice.events`` (subscribed in ``payouts.apps``).
"""
