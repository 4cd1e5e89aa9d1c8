"""The subjects pages are written about: services, data sets and HR subjects."""

from __future__ import annotations

from confluence_sandbox.topics.model import Subject


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
