"""The sandbox corpus's subject matter: services, data sets, HR subjects, topics and their variants.

A generated page is the combination (topic, subject, variant): for example topic ``deploy_ko`` ("배포 가이드"),
subject ``payment-gateway`` and variant "카나리 배포 가이드". The corpus hands out each combination once before it
repeats any, so in corpora up to a few thousand pages every combination names exactly one page; the variant's
``queries`` are then unambiguous search queries for that page (see ``Corpus.query_candidates``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Subject:
    """What a page is about: a service, a data set or an HR subject.

    Attributes:
        kind: ``service``, ``dataset`` or ``hr``.
        name: Distinctive English name (``payment-gateway``, ``orders_daily``, ``annual leave``).
        ko: Korean name (``결제 게이트웨이``).
        code: Short upper-case code used in error codes and document ids (``PAYGW``).
        team: Owning team (English).
        team_ko: Owning team (Korean).
        stack: Implementation stack or tool.
        store: Main data store.
        queue: Message queue or ``""``.
        port: Service port (0 when it has none).
    """

    kind: str
    name: str
    ko: str
    code: str
    team: str
    team_ko: str
    stack: str
    store: str
    queue: str
    port: int

    def fields(self) -> dict[str, Any]:
        """Return the placeholders that topic templates may use."""
        return {
            "s": self.name,
            "ko": self.ko,
            "code": self.code,
            "team": self.team,
            "team_ko": self.team_ko,
            "stack": self.stack,
            "store": self.store,
            "queue": self.queue or "none",
            "port": self.port,
        }


def _svc(
    name: str, ko: str, code: str, team: str, team_ko: str, stack: str, store: str, queue: str, port: int
) -> Subject:
    return Subject("service", name, ko, code, team, team_ko, stack, store, queue, port)


SERVICES: tuple[Subject, ...] = (
    _svc(
        "payment-gateway", "결제 게이트웨이", "PAYGW", "Payments", "결제플랫폼팀", "Kotlin", "PostgreSQL", "Kafka", 8443
    ),
    _svc("order-service", "주문 서비스", "ORDSV", "Commerce", "커머스개발팀", "Java", "MySQL", "Kafka", 8080),
    _svc("inventory-api", "재고 API", "INVAP", "Commerce", "커머스개발팀", "Go", "PostgreSQL", "", 9090),
    _svc("auth-server", "인증 서버", "AUTHS", "Identity", "인증보안팀", "Kotlin", "Redis", "", 8081),
    _svc("notification-worker", "알림 워커", "NOTIW", "Messaging", "메시징팀", "Python", "Redis", "RabbitMQ", 0),
    _svc("search-indexer", "검색 인덱서", "SRCHX", "Search", "검색팀", "Java", "Elasticsearch", "Kafka", 8090),
    _svc("billing-batch", "청구 배치", "BILLB", "Payments", "결제플랫폼팀", "Kotlin", "PostgreSQL", "", 0),
    _svc("user-profile", "회원 프로필", "USRPF", "Identity", "인증보안팀", "Go", "DynamoDB", "", 8082),
    _svc("recommendation-engine", "추천 엔진", "RECOM", "ML Platform", "ML플랫폼팀", "Python", "Redis", "Kafka", 8000),
    _svc("checkout-web", "체크아웃 웹", "CHKWB", "Frontend", "프론트엔드팀", "TypeScript", "none", "", 3000),
    _svc("shipping-tracker", "배송 추적", "SHIPT", "Logistics", "물류개발팀", "Go", "PostgreSQL", "Kafka", 8083),
    _svc("coupon-service", "쿠폰 서비스", "CUPON", "Marketing Tech", "마케팅테크팀", "Java", "MySQL", "Redis", 8084),
    _svc("review-service", "리뷰 서비스", "REVUE", "Commerce", "커머스개발팀", "Kotlin", "MongoDB", "", 8085),
    _svc("media-transcoder", "미디어 트랜스코더", "MEDTC", "Media", "미디어팀", "Rust", "S3", "SQS", 8086),
    _svc("log-collector", "로그 수집기", "LOGCL", "SRE", "SRE팀", "Go", "OpenSearch", "Kafka", 24224),
    _svc("metrics-gateway", "메트릭 게이트웨이", "METGW", "SRE", "SRE팀", "Go", "Prometheus", "", 9091),
    _svc(
        "feature-flag-service",
        "피처 플래그 서비스",
        "FFLAG",
        "Platform",
        "플랫폼팀",
        "TypeScript",
        "PostgreSQL",
        "",
        8087,
    ),
    _svc("session-store", "세션 스토어", "SESST", "Platform", "플랫폼팀", "Redis Cluster", "Redis", "", 6379),
    _svc("rate-limiter", "레이트 리미터", "RATEL", "Platform", "플랫폼팀", "Envoy", "Redis", "", 8088),
    _svc("email-dispatcher", "이메일 발송기", "EMLDP", "Messaging", "메시징팀", "Python", "PostgreSQL", "SQS", 8089),
    _svc("fraud-detector", "이상거래 탐지", "FRAUD", "Risk", "리스크팀", "Python", "ClickHouse", "Kafka", 8001),
    _svc("ledger-service", "원장 서비스", "LEDGR", "Payments", "결제플랫폼팀", "Java", "PostgreSQL", "Kafka", 8091),
    _svc("catalog-sync", "상품 카탈로그 동기화", "CTLSY", "Commerce", "커머스개발팀", "Kotlin", "MySQL", "Kafka", 0),
    _svc("image-resizer", "이미지 리사이저", "IMGRS", "Media", "미디어팀", "Rust", "S3", "", 8092),
    _svc("webhook-relay", "웹훅 릴레이", "WHKRL", "Platform", "플랫폼팀", "Go", "Redis", "Kafka", 8093),
    _svc("settlement-batch", "판매자 정산 배치", "STLMB", "Payments", "결제플랫폼팀", "Kotlin", "PostgreSQL", "", 0),
    _svc("chat-gateway", "채팅 게이트웨이", "CHATG", "Messaging", "메시징팀", "Elixir", "Cassandra", "", 4000),
    _svc("geo-locator", "위치 조회 서비스", "GEOLC", "Logistics", "물류개발팀", "Go", "PostGIS", "", 8094),
    _svc("pricing-engine", "가격 엔진", "PRICE", "Commerce", "커머스개발팀", "Scala", "Redis", "Kafka", 8095),
    _svc("identity-broker", "SSO 브로커", "IDBRK", "Identity", "인증보안팀", "Java", "PostgreSQL", "", 8444),
    _svc("audit-trail", "감사 로그 서비스", "AUDIT", "Security", "보안팀", "Go", "ClickHouse", "Kafka", 8096),
    _svc("report-builder", "리포트 빌더", "RPTBL", "Data", "데이터팀", "Python", "BigQuery", "", 8002),
    _svc("api-gateway", "API 게이트웨이", "APIGW", "Platform", "플랫폼팀", "Kong", "PostgreSQL", "", 8000),
    _svc("cdn-purger", "CDN 캐시 퍼지", "CDNPG", "SRE", "SRE팀", "Python", "none", "SQS", 0),
    _svc("seller-portal", "판매자 포털", "SELLP", "Seller", "셀러개발팀", "TypeScript", "none", "", 3001),
    _svc("push-sender", "푸시 발송 서비스", "PUSHS", "Messaging", "메시징팀", "Kotlin", "Redis", "Kafka", 8097),
)


def _ds(name: str, ko: str, code: str, tool: str, store: str) -> Subject:
    return Subject("dataset", name, ko, code, "Data", "데이터팀", tool, store, "", 0)


DATASETS: tuple[Subject, ...] = (
    _ds("orders_daily", "일별 주문 집계", "ORDD", "Airflow", "BigQuery"),
    _ds("user_events", "사용자 이벤트 로그", "UEVT", "Spark", "S3"),
    _ds("payment_ledger", "결제 원장 마트", "PLDG", "dbt", "BigQuery"),
    _ds("product_catalog_snapshot", "상품 카탈로그 스냅샷", "PCAT", "Airflow", "BigQuery"),
    _ds("session_funnel", "세션 퍼널", "SFUN", "dbt", "BigQuery"),
    _ds("ad_impressions", "광고 노출 로그", "ADIM", "Flink", "ClickHouse"),
    _ds("inventory_snapshot", "재고 스냅샷", "INVS", "Airflow", "BigQuery"),
    _ds("delivery_sla", "배송 SLA 지표", "DSLA", "dbt", "BigQuery"),
    _ds("churn_features", "이탈 예측 피처", "CHRN", "Spark", "Feature Store"),
    _ds("search_queries", "검색어 로그", "SRQL", "Flink", "ClickHouse"),
    _ds("coupon_redemptions", "쿠폰 사용 내역", "CPRD", "dbt", "BigQuery"),
    _ds("seller_settlement_mart", "판매자 정산 마트", "SSMT", "dbt", "BigQuery"),
    _ds("app_crash_reports", "앱 크래시 리포트", "APCR", "Spark", "S3"),
    _ds("marketing_attribution", "마케팅 기여도", "MKAT", "Airflow", "BigQuery"),
    _ds("cs_tickets", "고객센터 티켓", "CSTK", "Airflow", "PostgreSQL"),
)


def _hr(name: str, ko: str, code: str) -> Subject:
    return Subject("hr", name, ko, code, "People", "피플팀", "Workday", "none", "", 0)


HR_SUBJECTS: tuple[Subject, ...] = (
    _hr("annual leave", "연차 휴가", "LEAVE"),
    _hr("expense reimbursement", "경비 정산", "EXPNS"),
    _hr("remote work", "재택근무", "REMOT"),
    _hr("equipment request", "업무 장비 신청", "EQUIP"),
    _hr("security awareness training", "정보보호 교육", "SECTR"),
    _hr("performance review", "성과 평가", "PERFR"),
    _hr("parental leave", "육아 휴직", "PRNTL"),
    _hr("business travel", "국내외 출장", "TRAVL"),
    _hr("education support", "교육비 지원", "EDUSP"),
    _hr("health checkup", "건강검진", "HLTHC"),
    _hr("internal transfer", "사내 이동", "TRNSF"),
    _hr("referral bonus", "사내 추천 보상", "REFRL"),
)

SUBJECTS_BY_KIND: dict[str, tuple[Subject, ...]] = {"service": SERVICES, "dataset": DATASETS, "hr": HR_SUBJECTS}


@dataclass(frozen=True, slots=True)
class Variant:
    """One angle of a topic.

    Attributes:
        title: Title template (placeholders from :meth:`Subject.fields`).
        focus: The page's key sentence; it carries the variant's distinctive terms into the body.
        terms: Distinctive search terms of the variant (besides the subject's name).
        queries: ``(language, template)`` pairs: natural search queries whose best answer is this page.
    """

    title: str
    focus: str
    terms: tuple[str, ...]
    queries: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Topic:
    """A kind of page (runbook, design doc, 배포 절차 …) with its variants.

    Attributes:
        key: Stable identifier (``runbook_en``).
        lang: Main language of the page text (``en`` or ``ko``).
        kind: Subject kind it is written about.
        shape: Body layout used by :mod:`confluence_sandbox.bodies`.
        section: Title of the section page that groups these pages in a space.
        folder: Title template of a per-subject folder page under the section.
        labels: Labels every page of the topic carries.
        description: One line for humans choosing search queries.
        variants: The topic's variants.
    """

    key: str
    lang: str
    kind: str
    shape: str
    section: str
    folder: str
    labels: tuple[str, ...]
    description: str
    variants: tuple[Variant, ...]


def _v(title: str, focus: str, terms: tuple[str, ...], *queries: tuple[str, str]) -> Variant:
    return Variant(title, focus, terms, tuple(queries))


TOPICS: tuple[Topic, ...] = (
    Topic(
        "runbook_en",
        "en",
        "service",
        "runbook",
        "Runbooks",
        "{s} runbooks",
        ("runbook", "on-call"),
        "On-call runbook for one alert of one service.",
        (
            _v(
                "Runbook: {s} high p99 latency",
                "Use this runbook when the {s} p99 latency alert fires: requests are slower than the 800 ms SLO.",
                ("p99 latency", "slow requests", "latency alert"),
                ("en", "{s} p99 latency alert runbook"),
                ("ko", "{s} 응답 지연 p99 알림 대응"),
            ),
            _v(
                "Runbook: {s} 5xx error spike",
                "Use this runbook when the {s} 5xx error ratio exceeds 2% for five minutes.",
                ("5xx error spike", "error ratio", "http 500"),
                ("en", "what to do when {s} returns many 5xx errors"),
                ("ko", "{s} 5xx 에러 급증 대응"),
            ),
            _v(
                "Runbook: {s} consumer lag",
                "Use this runbook when the {s} consumer group lag keeps growing and messages are processed late.",
                ("consumer lag", "consumer group", "backlog"),
                ("en", "{s} consumer lag keeps growing"),
                ("ko", "{s} 컨슈머 랙 증가 해결"),
            ),
            _v(
                "Runbook: {s} pods OOMKilled",
                "Use this runbook when {s} pods restart with OOMKilled and the heap usage alert fires.",
                ("oomkilled", "memory limit", "heap usage"),
                ("en", "{s} pods restarting OOMKilled memory limit"),
            ),
            _v(
                "Runbook: {s} TLS certificate expiry",
                "Use this runbook when the certificate of {s} expires in less than 14 days.",
                ("certificate expiry", "tls certificate", "cert-manager"),
                ("en", "renew expiring TLS certificate {s}"),
            ),
            _v(
                "Runbook: {s} connection pool exhausted",
                "Use this runbook when {s} cannot get a {store} connection: the connection pool is exhausted.",
                ("connection pool exhausted", "hikaricp", "too many connections"),
                ("en", "{s} database connection pool exhausted"),
            ),
        ),
    ),
    Topic(
        "runbook_ko",
        "ko",
        "service",
        "runbook",
        "장애 대응 런북",
        "{ko} 런북",
        ("런북", "장애대응"),
        "한국어 장애 대응 런북 (서비스별 알림 하나).",
        (
            _v(
                "장애 대응: {ko}({s}) 응답 지연",
                "{ko}({s})의 응답 시간이 SLO인 800ms를 넘으면 이 런북에 따라 원인을 찾고 조치합니다.",
                ("응답 지연", "타임아웃", "슬로우 쿼리"),
                ("ko", "{ko} 응답 지연 원인 찾는 방법"),
                ("en", "{s} slow response runbook"),
            ),
            _v(
                "장애 대응: {ko}({s}) 5xx 에러 급증",
                "{ko}({s})에서 5xx 에러 비율이 5분 동안 2%를 넘으면 즉시 이 절차를 따릅니다.",
                ("5xx 에러 급증", "에러율", "서킷 브레이커"),
                ("ko", "{ko} 5xx 에러가 갑자기 늘었을 때"),
            ),
            _v(
                "장애 대응: {ko}({s}) 메모리 부족",
                "{ko}({s}) 파드가 메모리 부족(OOM)으로 재시작되면 힙 덤프를 확보하고 메모리 한도를 점검합니다.",
                ("메모리 부족", "힙 덤프", "oom"),
                ("ko", "{ko} 파드 메모리 부족 재시작 조치"),
            ),
            _v(
                "장애 대응: {ko}({s}) 디스크 사용량 급증",
                "{ko}({s}) 노드의 디스크 사용량이 85%를 넘으면 로그 정리와 볼륨 확장을 진행합니다.",
                ("디스크 사용량", "볼륨 확장", "로그 정리"),
                ("ko", "{ko} 디스크 용량 부족 볼륨 확장"),
            ),
            _v(
                "장애 대응: {ko}({s}) DB 커넥션 고갈",
                "{ko}({s})가 {store} 커넥션을 얻지 못하면 커넥션 풀 설정과 장기 실행 쿼리를 확인합니다.",
                ("커넥션 고갈", "커넥션 풀", "장기 실행 쿼리"),
                ("ko", "{ko} DB 커넥션 풀 고갈 해결"),
            ),
        ),
    ),
    Topic(
        "deploy_ko",
        "ko",
        "service",
        "procedure",
        "배포 가이드",
        "{s} 배포 문서",
        ("배포", "deployment"),
        "서비스별 배포·롤백 절차.",
        (
            _v(
                "{s} 배포 절차",
                "{ko}({s})를 운영 환경에 배포하는 표준 절차입니다. Argo CD 동기화 전에 체크리스트를 모두 확인합니다.",
                ("배포 절차", "argo cd", "릴리스 브랜치"),
                ("ko", "{s} 운영 배포 절차"),
                ("en", "how to deploy {s} to production"),
            ),
            _v(
                "{s} 카나리 배포 가이드",
                "{ko}({s})는 카나리 배포로 트래픽을 5% → 25% → 100% 순서로 늘리며 에러율을 확인합니다.",
                ("카나리 배포", "트래픽 비율", "argo rollouts"),
                ("ko", "{s} 카나리 배포 트래픽 비율"),
            ),
            _v(
                "{s} 롤백 절차",
                "{ko}({s}) 배포 후 에러율이 오르면 이전 리비전으로 롤백합니다. 롤백은 승인 없이 바로 진행합니다.",
                ("롤백", "이전 리비전", "rollout undo"),
                ("ko", "{s} 배포 롤백 방법"),
                ("en", "roll back a bad {s} deployment"),
            ),
            _v(
                "{s} 핫픽스 배포 체크리스트",
                "{ko}({s})에 긴급 수정이 필요할 때 핫픽스 브랜치를 만들고 축약된 체크리스트로 배포합니다.",
                ("핫픽스", "긴급 배포", "체크리스트"),
                ("ko", "{s} 핫픽스 긴급 배포 체크리스트"),
            ),
            _v(
                "{s} 블루그린 전환 절차",
                "{ko}({s})의 대규모 변경은 블루그린 방식으로 새 환경을 띄운 뒤 로드밸런서 대상 그룹을 전환합니다.",
                ("블루그린", "대상 그룹 전환", "무중단 배포"),
                ("ko", "{s} 블루그린 무중단 전환"),
            ),
        ),
    ),
    Topic(
        "howto_en",
        "en",
        "service",
        "procedure",
        "How-to guides",
        "{s} how-tos",
        ("how-to",),
        "Step-by-step how-to for one operational task.",
        (
            _v(
                "How to rotate {s} database credentials",
                "This guide rotates the {store} credentials of {s} through Vault without downtime.",
                ("rotate credentials", "vault", "database password"),
                ("en", "rotate {s} database password vault"),
                ("ko", "{s} DB 비밀번호 교체 방법"),
            ),
            _v(
                "How to scale {s} workers",
                "This guide scales {s} horizontally: raise the HPA maximum and the partition count together.",
                ("scale workers", "hpa", "replicas"),
                ("en", "scale out {s} replicas hpa"),
            ),
            _v(
                "How to enable debug logging in {s}",
                "This guide turns on DEBUG logging for one {s} package at runtime, without a restart.",
                ("debug logging", "log level", "actuator"),
                ("en", "turn on debug logs {s} without restart"),
                ("ko", "{s} 디버그 로그 켜는 법"),
            ),
            _v(
                "How to run a schema migration for {s}",
                "This guide applies a Flyway schema migration to the {s} {store} database in production.",
                ("schema migration", "flyway", "ddl"),
                ("en", "apply flyway schema migration {s}"),
            ),
            _v(
                "How to replay dead-letter messages in {s}",
                "This guide replays messages from the {s} dead-letter queue after the root cause is fixed.",
                ("dead-letter queue", "replay", "dlq"),
                ("en", "replay {s} dead letter queue messages"),
                ("ko", "{s} DLQ 메시지 재처리"),
            ),
            _v(
                "How to profile CPU usage of {s}",
                "This guide captures a CPU profile (flame graph) from a running {s} pod with async-profiler.",
                ("cpu profile", "flame graph", "async-profiler"),
                ("en", "capture {s} cpu flame graph"),
            ),
        ),
    ),
    Topic(
        "design_en",
        "en",
        "service",
        "design",
        "Design documents",
        "{s} design",
        ("design", "architecture"),
        "Design document for a change to one service.",
        (
            _v(
                "{s} design: idempotent retries",
                "We make every {s} write idempotent with an Idempotency-Key header so that clients can retry safely.",
                ("idempotency key", "idempotent retries", "exactly-once"),
                ("en", "{s} idempotency key design"),
            ),
            _v(
                "{s} design: multi-region failover",
                "{s} runs active-passive in ap-northeast-2 and ap-northeast-1; this design automates the failover.",
                ("multi-region failover", "active-passive", "route53"),
                ("en", "{s} multi region failover design"),
                ("ko", "{s} 멀티 리전 페일오버 설계"),
            ),
            _v(
                "{s} design: sharding strategy",
                "The {s} tables outgrew one {store} primary; we shard by tenant id with a consistent-hash router.",
                ("sharding", "tenant id", "consistent hashing"),
                ("en", "how is {s} sharded by tenant"),
            ),
            _v(
                "{s} design: event schema v2",
                "Version 2 of the {s} events moves to Avro with a schema registry and backward-compatible evolution.",
                ("event schema", "avro", "schema registry"),
                ("en", "{s} avro event schema v2"),
            ),
            _v(
                "{s} design: read-through cache",
                "A read-through cache in front of {store} cuts {s} read latency; this design covers invalidation.",
                ("read-through cache", "cache invalidation", "ttl"),
                ("en", "{s} cache invalidation design"),
                ("ko", "{s} 캐시 무효화 설계"),
            ),
        ),
    ),
    Topic(
        "incident_en",
        "en",
        "service",
        "incident",
        "Incident reviews",
        "{s} incidents",
        ("incident", "postmortem"),
        "Blameless incident review with timeline and action items.",
        (
            _v(
                "Incident review: {s} partial outage",
                "For 47 minutes a part of the {s} traffic failed because one availability zone lost its NAT gateway.",
                ("partial outage", "nat gateway", "availability zone"),
                ("en", "{s} partial outage nat gateway postmortem"),
            ),
            _v(
                "Incident review: {s} data inconsistency",
                "{s} wrote duplicate rows for 2 hours after a retry storm; reconciliation fixed 1,284 records.",
                ("data inconsistency", "duplicate rows", "retry storm"),
                ("en", "{s} duplicate rows incident"),
                ("ko", "{s} 데이터 중복 장애 회고"),
            ),
            _v(
                "Incident review: {s} elevated error rate",
                "After a config push, {s} answered 12% of requests with HTTP 503 until the change was reverted.",
                ("elevated error rate", "config push", "http 503"),
                ("en", "{s} 503 errors after config change"),
            ),
            _v(
                "Incident review: {s} failed deployment",
                "A {s} release with a missing database index made queries time out; the rollback took 18 minutes.",
                ("failed deployment", "missing index", "query timeout"),
                ("en", "{s} deployment missing index incident"),
            ),
        ),
    ),
    Topic(
        "incident_ko",
        "ko",
        "service",
        "incident",
        "장애 보고서",
        "{ko} 장애 보고서",
        ("장애보고서", "postmortem"),
        "한국어 장애 보고서 (타임라인, 원인, 재발 방지 대책).",
        (
            _v(
                "장애 보고서: {ko}({s}) 서비스 지연",
                "{ko}({s})의 응답이 32분 동안 지연되었습니다. 원인은 인덱스가 없는 배치 쿼리였습니다.",
                ("서비스 지연", "배치 쿼리", "인덱스 누락"),
                ("ko", "{ko} 서비스 지연 장애 원인"),
            ),
            _v(
                "장애 보고서: {ko}({s}) 외부 연동 장애",
                "외부 PG사 API 타임아웃으로 {ko}({s}) 요청의 8%가 실패했습니다. 재시도 정책을 보완했습니다.",
                ("외부 연동", "pg사", "재시도 정책"),
                ("ko", "{ko} 외부 API 타임아웃 장애 보고서"),
            ),
            _v(
                "장애 보고서: {ko}({s}) 데이터 불일치",
                "{ko}({s})와 원장 사이에 데이터 불일치가 발생해 대사 작업으로 복구했습니다.",
                ("데이터 불일치", "대사 작업", "복구"),
                ("ko", "{ko} 데이터 불일치 대사 복구"),
            ),
            _v(
                "장애 보고서: {ko}({s}) 배포 실패",
                "{ko}({s}) 배포 중 마이그레이션이 잠금을 오래 잡아 API가 멈췄습니다. 배포를 중단하고 롤백했습니다.",
                ("배포 실패", "마이그레이션 잠금", "테이블 락"),
                ("ko", "{ko} 배포 중 테이블 락 장애"),
            ),
        ),
    ),
    Topic(
        "datapipe_ko",
        "ko",
        "dataset",
        "datapipe",
        "데이터 파이프라인 운영 가이드",
        "{s} 파이프라인",
        ("데이터파이프라인", "airflow"),
        "데이터 파이프라인 운영 가이드 (데이터셋별).",
        (
            _v(
                "{s} 파이프라인 운영 가이드",
                "{ko}({s}) 테이블은 매일 새벽 3시(KST)에 {stack} 작업으로 적재됩니다. 실패 시 재실행 절차를 따릅니다.",
                ("운영 가이드", "적재 실패", "재실행"),
                ("ko", "{s} 적재 실패 재실행 방법"),
                ("en", "{s} pipeline operations guide"),
            ),
            _v(
                "{s} 백필 절차",
                "{ko}({s})의 과거 데이터를 다시 적재해야 할 때 날짜 범위를 나눠 백필합니다.",
                ("백필", "날짜 범위", "재적재"),
                ("ko", "{s} 과거 데이터 백필 절차"),
                ("en", "backfill {s} for a date range"),
            ),
            _v(
                "{s} 데이터 품질 점검",
                "{ko}({s})는 행 수, 널 비율, 중복 키를 Great Expectations로 점검하고 실패하면 알림을 보냅니다.",
                ("데이터 품질", "널 비율", "great expectations"),
                ("ko", "{s} 데이터 품질 점검 항목"),
            ),
            _v(
                "{s} 스키마 변경 절차",
                "{ko}({s})에 컬럼을 추가하거나 타입을 바꿀 때는 하위 호환성을 확인하고 다운스트림에 공지합니다.",
                ("스키마 변경", "컬럼 추가", "하위 호환"),
                ("ko", "{s} 컬럼 추가 스키마 변경"),
            ),
        ),
    ),
    Topic(
        "dataspec_ko",
        "ko",
        "dataset",
        "reference",
        "테이블 명세",
        "{s} 명세",
        ("테이블명세", "data-catalog"),
        "데이터셋 테이블 명세와 지표 정의.",
        (
            _v(
                "{s} 테이블 명세",
                "analytics.{s} 테이블의 컬럼, 파티션 키, 보존 기간을 정리한 명세입니다.",
                ("테이블 명세", "파티션 키", "보존 기간"),
                ("ko", "{s} 테이블 컬럼 명세"),
                ("en", "{s} table schema columns"),
            ),
            _v(
                "{s} 지표 정의서",
                "{ko}({s})에서 계산하는 지표의 정의와 집계 기준을 설명합니다.",
                ("지표 정의", "집계 기준", "kpi"),
                ("ko", "{s} 지표 정의 집계 기준"),
            ),
            _v(
                "{s} 데이터 리니지",
                "{ko}({s})의 원천 테이블부터 대시보드까지 데이터 리니지를 정리했습니다.",
                ("데이터 리니지", "원천 테이블", "다운스트림"),
                ("ko", "{s} 데이터 리니지 원천"),
            ),
        ),
    ),
    Topic(
        "onboarding_ko",
        "ko",
        "service",
        "onboarding",
        "온보딩",
        "{s} 온보딩",
        ("온보딩", "onboarding"),
        "신규 입사자 온보딩 가이드.",
        (
            _v(
                "{s} 신규 입사자 온보딩: 로컬 개발 환경",
                "{team_ko}에 새로 합류한 분이 {ko}({s})를 로컬에서 실행하기까지 필요한 단계를 정리했습니다.",
                ("로컬 개발 환경", "docker compose", "신규 입사자"),
                ("ko", "{s} 로컬 개발 환경 세팅"),
                ("en", "set up {s} locally new joiner"),
            ),
            _v(
                "{s} 신규 입사자 온보딩: 첫 주 체크리스트",
                "{team_ko} 신규 입사자가 첫 주에 마쳐야 할 권한 신청과 교육 목록입니다.",
                ("첫 주 체크리스트", "권한 신청", "온보딩 교육"),
                ("ko", "{team_ko} 첫 주 온보딩 체크리스트 {s}"),
            ),
            _v(
                "{s} 코드 리뷰 가이드",
                "{ko}({s}) 저장소의 코드 리뷰 규칙: PR 크기, 리뷰어 지정, 머지 조건을 설명합니다.",
                ("코드 리뷰", "pull request", "머지 조건"),
                ("ko", "{s} 코드 리뷰 규칙 PR"),
            ),
        ),
    ),
    Topic(
        "api_en",
        "en",
        "service",
        "reference",
        "API reference",
        "{s} API",
        ("api", "reference"),
        "API reference for one service.",
        (
            _v(
                "{s} API reference",
                "The {s} REST API is served on port {port} under /api/v1; all endpoints need an OAuth2 bearer token.",
                ("rest api", "endpoints", "oauth2 bearer"),
                ("en", "{s} rest api endpoints reference"),
            ),
            _v(
                "{s} API error codes",
                "Every {s} error response carries a machine-readable code; this table lists the codes and fixes.",
                ("error codes", "error response", "problem json"),
                ("en", "{s} api error code list"),
                ("ko", "{s} API 에러 코드 목록"),
            ),
            _v(
                "{s} API authentication",
                "{s} accepts OAuth2 client-credentials tokens issued by identity-broker; scopes map to endpoints.",
                ("client credentials", "scopes", "access token"),
                ("en", "{s} api oauth scopes"),
            ),
            _v(
                "{s} webhooks",
                "{s} sends signed webhooks (HMAC-SHA256 in X-Signature) and retries with exponential backoff.",
                ("webhooks", "hmac signature", "x-signature"),
                ("en", "verify {s} webhook hmac signature"),
            ),
            _v(
                "{s} API pagination and rate limits",
                "{s} list endpoints page with an opaque cursor; clients get 600 requests per minute per token.",
                ("pagination", "rate limits", "cursor"),
                ("en", "{s} api rate limit per minute"),
            ),
        ),
    ),
    Topic(
        "meeting_ko",
        "ko",
        "service",
        "meeting",
        "회의록",
        "{ko} 회의록",
        ("회의록", "meeting-notes"),
        "한국어 회의록 (참석자, 안건, 결정 사항, 액션 아이템).",
        (
            _v(
                "{ko}({s}) 주간 회의록",
                "{team_ko} 주간 회의에서 {ko}({s})의 지난주 지표와 이번 주 작업을 공유했습니다.",
                ("주간 회의", "지난주 지표", "이번 주 작업"),
                ("ko", "{ko} 주간 회의 결정 사항"),
            ),
            _v(
                "{ko}({s}) 스프린트 회고",
                "{ko}({s}) 스프린트 회고: 잘한 점, 아쉬운 점, 다음 스프린트에서 시도할 점을 정리했습니다.",
                ("스프린트 회고", "잘한 점", "아쉬운 점"),
                ("ko", "{ko} 스프린트 회고 내용"),
            ),
            _v(
                "{ko}({s}) 분기 계획 회의",
                "{team_ko}은 다음 분기 {ko}({s})의 목표와 우선순위를 OKR로 정리했습니다.",
                ("분기 계획", "okr", "우선순위"),
                ("ko", "{ko} 다음 분기 OKR 계획"),
            ),
        ),
    ),
    Topic(
        "release_en",
        "en",
        "service",
        "release",
        "Release notes",
        "{s} releases",
        ("release-notes",),
        "Release notes of one service version.",
        (
            _v(
                "{s} 3.4 release notes",
                "{s} 3.4 adds bulk endpoints, drops the deprecated v0 API and upgrades the {store} driver.",
                ("bulk endpoints", "deprecated v0 api", "driver upgrade"),
                ("en", "{s} 3.4 release bulk endpoints"),
            ),
            _v(
                "{s} 3.5 release notes",
                "{s} 3.5 introduces graceful shutdown, OpenTelemetry tracing and a new health check endpoint.",
                ("graceful shutdown", "opentelemetry tracing", "health check"),
                ("en", "{s} 3.5 opentelemetry tracing release"),
            ),
            _v(
                "{s} 4.0 release notes",
                "{s} 4.0 is a breaking release: Java 21 runtime, new configuration keys and removed XML support.",
                ("breaking release", "java 21", "configuration keys"),
                ("en", "{s} 4.0 breaking changes"),
                ("ko", "{s} 4.0 주요 변경 사항"),
            ),
        ),
    ),
    Topic(
        "monitoring_ko",
        "ko",
        "service",
        "reference",
        "모니터링",
        "{ko} 모니터링",
        ("모니터링", "grafana"),
        "모니터링 대시보드, 알림 규칙, SLO 정의.",
        (
            _v(
                "{ko}({s}) 모니터링 대시보드 안내",
                "Grafana의 {s} 대시보드에서 처리량, 에러율, 지연 시간, 포화도 패널을 보는 방법을 설명합니다.",
                ("모니터링 대시보드", "grafana", "포화도"),
                ("ko", "{s} 그라파나 대시보드 패널 보는 법"),
            ),
            _v(
                "{ko}({s}) 알림 규칙 정리",
                "{ko}({s})의 Prometheus 알림 규칙과 임계치, 담당 채널(#{s}-oncall)을 정리했습니다.",
                ("알림 규칙", "임계치", "prometheus"),
                ("ko", "{s} 프로메테우스 알림 임계치"),
            ),
            _v(
                "{ko}({s}) SLO 정의",
                "{ko}({s})의 가용성 SLO는 99.95%, 지연 SLO는 p99 800ms이며 에러 버짓 정책을 함께 적용합니다.",
                ("slo", "에러 버짓", "가용성"),
                ("ko", "{s} SLO 에러 버짓 정책"),
                ("en", "{s} availability slo error budget"),
            ),
        ),
    ),
    Topic(
        "faq_ko",
        "ko",
        "service",
        "faq",
        "자주 묻는 질문",
        "{s} FAQ",
        ("faq",),
        "서비스 사용자 FAQ.",
        (
            _v(
                "{s} 자주 묻는 질문",
                "{ko}({s})를 처음 연동하는 팀이 자주 묻는 질문과 답변을 모았습니다.",
                ("자주 묻는 질문", "연동", "답변"),
                ("ko", "{s} 연동 자주 묻는 질문"),
            ),
            _v(
                "{s} 트러블슈팅 FAQ",
                "{ko}({s}) 연동 중 자주 만나는 오류와 해결 방법을 정리했습니다.",
                ("트러블슈팅", "오류 해결", "연동 오류"),
                ("ko", "{s} 연동 오류 해결 방법"),
            ),
        ),
    ),
    Topic(
        "adr_en",
        "en",
        "service",
        "design",
        "Architecture decisions",
        "{s} ADRs",
        ("adr", "architecture"),
        "Architecture decision record.",
        (
            _v(
                "ADR: adopt gRPC for {s}",
                "We adopt gRPC for internal calls to {s} because JSON over HTTP costs 30% of its CPU.",
                ("grpc", "protobuf", "internal calls"),
                ("en", "why {s} uses grpc adr"),
            ),
            _v(
                "ADR: move {s} events to Kafka",
                "We move {s} events from polling to Kafka topics so that consumers no longer query {store}.",
                ("kafka topics", "polling", "event driven"),
                ("en", "{s} kafka migration decision"),
            ),
            _v(
                "ADR: partition {s} tables by month",
                "We partition the large {s} tables by month to keep vacuum and index builds short.",
                ("table partitioning", "monthly partitions", "vacuum"),
                ("en", "{s} monthly table partitioning decision"),
            ),
            _v(
                "ADR: adopt OpenTelemetry in {s}",
                "We replace the vendor agent in {s} with OpenTelemetry SDKs and an OTLP collector.",
                ("opentelemetry", "otlp collector", "vendor agent"),
                ("en", "{s} opentelemetry adoption adr"),
            ),
        ),
    ),
    Topic(
        "policy_ko",
        "ko",
        "hr",
        "policy",
        "사내 제도",
        "{ko} 제도",
        ("인사제도", "hr"),
        "사내 제도 안내 (한국어).",
        (
            _v(
                "{ko} 제도 안내",
                "{ko} 제도의 대상, 기준, 신청 방법을 안내합니다. 문의는 피플팀 채널(#people-help)로 주세요.",
                ("제도 안내", "대상", "기준"),
                ("ko", "{ko} 제도 기준 안내"),
            ),
            _v(
                "{ko} 신청 절차",
                "{ko} 신청은 Workday에서 진행하며, 팀장 승인 후 피플팀이 최종 확인합니다.",
                ("신청 절차", "workday", "팀장 승인"),
                ("ko", "{ko} 신청 방법 workday"),
                ("en", "how to apply for {s}"),
            ),
            _v(
                "{ko} 자주 묻는 질문",
                "{ko}에 대해 구성원들이 자주 묻는 질문을 정리했습니다.",
                ("자주 묻는 질문", "구성원", "예외"),
                ("ko", "{ko} 관련 자주 묻는 질문"),
            ),
        ),
    ),
    Topic(
        "policy_en",
        "en",
        "hr",
        "policy",
        "People policies",
        "{s} policy",
        ("policy", "hr"),
        "People policy (English).",
        (
            _v(
                "{s} policy",
                "This policy explains who is eligible for {s}, how much is covered and how to request it.",
                ("eligibility", "coverage", "request"),
                ("en", "who is eligible for {s}"),
                ("ko", "{ko} 대상자 기준"),
            ),
            _v(
                "{s}: how to apply",
                "Apply for {s} in Workday; your manager approves and the People team confirms within 3 days.",
                ("how to apply", "manager approval", "workday request"),
                ("en", "apply for {s} in workday"),
            ),
        ),
    ),
)

TOPICS_BY_KEY: dict[str, Topic] = {t.key: t for t in TOPICS}
TOPIC_INDEX: dict[str, int] = {t.key: i for i, t in enumerate(TOPICS)}

# Which topics each generated space holds, with relative weights.
SPACE_TOPICS: dict[str, tuple[tuple[str, int], ...]] = {
    "ENG": (
        ("howto_en", 3),
        ("design_en", 3),
        ("api_en", 2),
        ("deploy_ko", 2),
        ("adr_en", 1),
        ("release_en", 1),
        ("onboarding_ko", 1),
        ("faq_ko", 1),
    ),
    "OPS": (
        ("runbook_en", 4),
        ("runbook_ko", 4),
        ("incident_en", 2),
        ("incident_ko", 2),
        ("monitoring_ko", 2),
        ("deploy_ko", 1),
    ),
    "DATA": (("datapipe_ko", 4), ("dataspec_ko", 3), ("meeting_ko", 1)),
    "HR": (("policy_ko", 4), ("policy_en", 2), ("onboarding_ko", 1)),
    "~alice": (("meeting_ko", 2), ("howto_en", 1)),
    "LEGACY": (("release_en", 2), ("design_en", 1), ("adr_en", 1)),
}
