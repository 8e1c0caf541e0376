//! Prometheus metrics: requests by route and status, their latency, the pool, and webhook
//! deliveries (attempts by outcome, the pending queue and its oldest event's age), and the
//! reads a replica may serve (where they went, how long they waited, the replica's lag).

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// One registry per application instance (tests run several in one process).
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    deliveries: IntCounterVec,
    delivery_queue: IntGauge,
    delivery_oldest: Gauge,
    replica_reads: IntCounterVec,
    replica_wait: Histogram,
    replica_lag: IntGauge,
}

impl Metrics {
    pub fn new() -> Self {
        let requests = IntCounterVec::new(
            Opts::new(
                "stockpile_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "stockpile_http_request_duration_seconds",
                "HTTP request latency",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let pool_connections =
            IntGauge::new("stockpile_db_pool_connections", "Open database connections")
                .expect("valid metric");
        let pool_idle = IntGauge::new("stockpile_db_pool_idle", "Idle database connections")
            .expect("valid metric");
        let deliveries = IntCounterVec::new(
            Opts::new(
                "stockpile_webhook_deliveries_total",
                "Webhook delivery attempts by outcome (delivered, retry, failed, disabled, skipped)",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let delivery_queue = IntGauge::new(
            "stockpile_webhook_queue_depth",
            "Webhook deliveries pending",
        )
        .expect("valid metric");
        let delivery_oldest = Gauge::new(
            "stockpile_webhook_oldest_pending_seconds",
            "Age of the event of the oldest pending webhook delivery (0: none)",
        )
        .expect("valid metric");
        let replica_reads = IntCounterVec::new(
            Opts::new(
                "stockpile_replica_reads_total",
                "Reads that may use the replica, by where they went: replica, or the primary \
                 because of timeout, replica_down, not_standby or no_position",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let replica_wait = Histogram::with_opts(
            HistogramOpts::new(
                "stockpile_replica_wait_seconds",
                "Time a read spent choosing between the replica and the primary (taking the \
                 primary's WAL position, waiting for the replica to replay it)",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 2.5,
            ]),
        )
        .expect("valid metric");
        let replica_lag = IntGauge::new(
            "stockpile_replica_lag_bytes",
            "Bytes of WAL the replica had still to replay when a read last asked",
        )
        .expect("valid metric");
        let registry = Registry::new();
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_idle.clone()),
            Box::new(deliveries.clone()),
            Box::new(delivery_queue.clone()),
            Box::new(delivery_oldest.clone()),
            Box::new(replica_reads.clone()),
            Box::new(replica_wait.clone()),
            Box::new(replica_lag.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Self {
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            deliveries,
            delivery_queue,
            delivery_oldest,
            replica_reads,
            replica_wait,
            replica_lag,
        }
    }

    /// Counts a read that may use the replica by where it went, and the time it took to
    /// choose.
    pub fn replica_read(&self, outcome: &str, waited_secs: f64) {
        self.replica_reads.with_label_values(&[outcome]).inc();
        self.replica_wait.observe(waited_secs);
    }

    /// The replica's distance behind the primary's position, in bytes of WAL.
    pub fn replica_lag(&self, bytes: i64) {
        self.replica_lag.set(bytes);
    }

    /// Counts a delivery attempt's outcome.
    pub fn delivery(&self, outcome: &str) {
        self.deliveries.with_label_values(&[outcome]).inc();
    }

    /// The pending deliveries and the age of the oldest one's event, in seconds.
    pub fn delivery_backlog(&self, pending: i64, oldest_age_secs: f64) {
        self.delivery_queue.set(pending);
        self.delivery_oldest.set(oldest_age_secs);
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// The text exposition, with the pool figures read now.
    pub fn render(&self, pool: (u32, u32)) -> String {
        self.pool_connections.set(i64::from(pool.0));
        self.pool_idle.set(i64::from(pool.1));
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
