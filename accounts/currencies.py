"""The currencies and time zones a shop may use: ISO 4217 active codes (a fixed list: the set changes
rarely and a deployment must not depend on a locale database) and the IANA zones this Python knows."""

from __future__ import annotations

import zoneinfo
from functools import cache

_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
    CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
    KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN
    NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL
    SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES
    VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
"""
ISO_4217 = frozenset(_CODES.split())


def currency_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in sorted(ISO_4217)]


# Names that are not a place: "localtime" follows whatever the server is set to, "Factory" is a placeholder.
NOT_A_PLACE = frozenset({"localtime", "Factory"})


@cache
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - NOT_A_PLACE


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(time_zones())]


def is_time_zone(name: str) -> bool:
    return isinstance(name, str) and name in time_zones()


def is_currency(code: str) -> bool:
    return isinstance(code, str) and code in ISO_4217
