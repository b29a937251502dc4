"""Download client for the football-data.co.uk layout.

The site serves one CSV per division and season at
``<base-url>/mmz4281/<yyYY>/<league>.csv``. Transient failures (connection
errors, timeouts, a connection dropped while the body arrives, 5xx answers)
are retried with exponential backoff; anything else fails at once with a
message that says what to do instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import requests
import urllib3

log = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
_BAD_ADDRESS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.URLRequired,
    urllib3.exceptions.LocationValueError,  # a host such as "a..b"
)


class DownloadError(RuntimeError):
    """A file could not be fetched from the data source."""


def season_code(season: int) -> str:
    """Return the site's folder name for a season: 2023 gives ``"2324"``."""
    return f"{season % 100:02d}{(season + 1) % 100:02d}"


def season_url(base_url: str, league: str, season: int) -> str:
    """Return the address of one league-season file under ``base_url``."""
    return f"{base_url.rstrip('/')}/mmz4281/{season_code(season)}/{league}.csv"


def fetch(
    url: str,
    *,
    timeout_s: float = 20.0,
    retries: int = 3,
    backoff_s: float = 0.5,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """Return the bytes at ``url``, retrying transient failures.

    Parameters
    ----------
    url : str
        Address of the file.
    timeout_s : float
        Connect and read timeout of each attempt.
    retries : int
        Further attempts after the first on a transient failure.
    backoff_s : float
        Wait before the first retry; doubled before each further one.
    session : requests.Session, optional
        Reused connection pool; a new one per call when omitted.
    sleep : callable
        Waits between attempts (replaced in tests).

    Returns
    -------
    bytes
        The body of the answer.

    Raises
    ------
    DownloadError
        When ``url`` is not an http(s) address, the file does not exist, the
        answer is not a success, or the source could not be reached (or kept
        dropping the connection mid-download) after every retry.
    """
    http = session or requests.Session()
    problem = ""
    for attempt in range(retries + 1):
        if attempt:
            wait = backoff_s * 2 ** (attempt - 1)
            log.info("retrying %s in %.1f s after %s", url, wait, problem)
            sleep(wait)
        try:  # the body is read here too: a dropped connection raises here
            answer = http.get(url, timeout=timeout_s)
        except _TRANSIENT as exc:
            problem = f"{type(exc).__name__}: {_first_line(exc)}"
            continue
        except _BAD_ADDRESS as exc:
            raise DownloadError(
                f"{url} is not an address that can be fetched ({_first_line(exc)}); "
                "expected http:// or https:// and a host name; check --base-url"
            ) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise DownloadError(
                f"{url} could not be fetched ({type(exc).__name__}: "
                f"{_first_line(exc)}); check the base URL, or load files with "
                "`touchline data import PATH`"
            ) from None
        if answer.status_code in _RETRY_STATUS:
            problem = f"HTTP {answer.status_code}"
            continue
        if answer.status_code == 404:
            raise DownloadError(
                f"{url} does not exist (HTTP 404); check the league code and "
                "season, or the base URL"
            )
        if answer.status_code != 200:
            raise DownloadError(
                f"{url} answered HTTP {answer.status_code}, expected 200; check "
                "the base URL"
            )
        return answer.content
    raise DownloadError(
        f"could not reach {url} after {retries + 1} attempts ({problem}); check "
        "the network or pass --base-url, or load files with "
        "`touchline data import PATH`"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
