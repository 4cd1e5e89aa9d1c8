"""Settings for talking to Confluence, built by the Dagster resource (``defs/resources.py``) from its fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ConfluenceSettings:
    """Everything the client and the sync need to know about one Confluence site.

    Attributes:
        base_url: site URL. Cloud: ``https://acme.atlassian.net`` (``/wiki`` is added when missing).
            Data Center: ``https://confluence.acme.com`` plus its context path, if any.
        deployment: ``cloud``, ``datacenter`` or ``auto`` (Cloud when the host is ``*.atlassian.net``).
        email: Cloud account e-mail (Basic auth with ``api_token``).
        api_token: Cloud API token.
        personal_access_token: Data Center personal access token (Bearer auth).
        verify_tls: verify the server's certificate.
        ca_bundle: path of a CA bundle to verify against (corporate CAs).
        connect_timeout_s: TCP/TLS connect timeout.
        read_timeout_s: read timeout per request.
        rate_limit_rps: client-side request rate limit shared by the whole process.
        max_retries: retries after the first attempt, for 429/5xx/network errors.
        backoff_base_s: first back-off wait; doubles per retry, with full jitter.
        backoff_max_s: longest single wait (also caps ``Retry-After``).
        timezone: IANA zone in which CQL dates are read, when the server does not say (e.g. ``Asia/Seoul``).
        overlap_minutes: how far before the watermark each incremental query starts.
        space_refresh_hours: a space's metadata (name, type, status, homepage) is fetched again only when it is
            older than this; 0 fetches it on every run.
        list_page_size: page size of the light (no body) change listing.
        fetch_batch_size: pages fetched with bodies per request (Data Center caps this at 50).
        spaces: space keys to include (empty: all).
        exclude_spaces: space keys to skip.
        include_personal_spaces: also sync ``~user`` spaces.
        jira_base_url: Jira site, for turning issue keys into links.
    """

    base_url: str
    deployment: str = "auto"
    email: str | None = None
    api_token: str | None = field(default=None, repr=False)
    personal_access_token: str | None = field(default=None, repr=False)
    verify_tls: bool = True
    ca_bundle: str | None = None
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    rate_limit_rps: float = 10.0
    max_retries: int = 6
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    timezone: str | None = None
    overlap_minutes: int = 10
    space_refresh_hours: float = 24.0
    list_page_size: int = 200
    fetch_batch_size: int = 50
    spaces: tuple[str, ...] = ()
    exclude_spaces: tuple[str, ...] = ()
    include_personal_spaces: bool = False
    jira_base_url: str | None = None

    @property
    def is_cloud(self) -> bool:
        """True for Confluence Cloud, by setting or by host name."""
        if self.deployment in {"cloud", "datacenter"}:
            return self.deployment == "cloud"
        host = urlsplit(self.base_url).hostname or ""
        return host.endswith((".atlassian.net", ".jira.com"))

    @property
    def api_url(self) -> str:
        """The URL that REST paths (``rest/api/...``) hang off: Cloud gets ``/wiki`` when it was left out."""
        url = self.base_url.rstrip("/")
        parts = urlsplit(url)
        atlassian_host = (parts.hostname or "").endswith(".atlassian.net")
        if self.is_cloud and atlassian_host and not parts.path.rstrip("/").endswith("/wiki"):
            url += "/wiki"
        return url

    def validate(self) -> None:
        """Check the settings make sense before any request is made.

        Raises:
            ValueError: with a message that names the setting to fix.
        """
        parts = urlsplit(self.base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(
                f"CONFLUENCE_BASE_URL={self.base_url!r} is not an http(s) URL; set it to your site, e.g. "
                "https://acme.atlassian.net (Cloud) or https://confluence.acme.com (Data Center)"
            )
        if self.deployment not in {"auto", "cloud", "datacenter"}:
            raise ValueError(f"CONFLUENCE_DEPLOYMENT must be auto, cloud or datacenter, not {self.deployment!r}")
        if self.is_cloud and not (self.email and self.api_token):
            raise ValueError("Confluence Cloud needs CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN")
        if not self.is_cloud and not (self.personal_access_token or (self.email and self.api_token)):
            raise ValueError(
                "Confluence Data Center needs CONFLUENCE_PAT (a personal access token), "
                "or CONFLUENCE_EMAIL + CONFLUENCE_API_TOKEN for basic auth"
            )
        if self.fetch_batch_size < 1 or self.list_page_size < 1:
            raise ValueError("CONFLUENCE_FETCH_BATCH_SIZE and CONFLUENCE_LIST_PAGE_SIZE must be at least 1")
        if self.rate_limit_rps <= 0:
            raise ValueError("CONFLUENCE_RATE_LIMIT_RPS must be greater than 0")
        for name, value in (("CONFLUENCE_CONNECT_TIMEOUT_S", self.connect_timeout_s),
                            ("CONFLUENCE_READ_TIMEOUT_S", self.read_timeout_s)):  # fmt: skip
            if value <= 0:
                raise ValueError(f"{name}={value} must be greater than 0")
        for name, value in (("CONFLUENCE_MAX_RETRIES", self.max_retries),
                            ("CONFLUENCE_OVERLAP_MINUTES", self.overlap_minutes),
                            ("CONFLUENCE_SPACE_REFRESH_HOURS", self.space_refresh_hours),
                            ("CONFLUENCE_BACKOFF_BASE_S", self.backoff_base_s),
                            ("CONFLUENCE_BACKOFF_MAX_S", self.backoff_max_s)):  # fmt: skip
            if value < 0:
                raise ValueError(f"{name}={value} must not be negative")
