//! The OpenAPI document, generated from the handlers and types.

use super::error::Problem;
use super::routes;
use crate::domain::formats::{Cursor, ExportFormat, IdempotencyKey, ReportFormat, TimeBound};
use std::collections::BTreeMap;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Schema};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "stockpile",
        description = "Strategic critical-minerals reserve: inventory, loan tranches, drawdowns \
            under declared disruptions, and a hash-chained ledger. Quantities and money are \
            decimal strings; errors are application/problem+json. The `bearer` security \
            requirement of each operation lists the roles that may call it."
    ),
    // Schemas only parameters refer to: utoipa collects those of bodies alone.
    components(schemas(Problem, IdempotencyKey, TimeBound, ExportFormat, ReportFormat, Cursor)),
    tags(
        (name = "service", description = "Health, metrics and this document (no auth)"),
        (name = "reference data", description = "Materials and facilities (admin writes, every role reads)"),
        (name = "manufacturers", description = "Manufacturers and their allocations (admin writes)"),
        (name = "disruptions", description = "Declared supply disruptions: proposed, confirmed by a second operator, ended"),
        (name = "drawdowns", description = "Manufacturers' drawdown requests under the release rules; operators approve releases"),
        (name = "obligations", description = "Replenishment obligations created by releases"),
        (name = "inventory", description = "Lots, transfers and adjustments (operators write; staff read)"),
        (name = "loans", description = "Loan facilities and their tranches, manufacturers' fees (admin); \
            disbursements, interest accruals and repayments (operators, admins); statements \
            (operators, auditors, admins). Every movement is a USD journal entry."),
        (name = "fees", description = "Carrying fees: accrued on every allocation's locked value \
            into a receivable per manufacturer (operators, admins), paid against it (operators, \
            admins), and each manufacturer's statement (its manufacturer; staff)."),
        (name = "reports", description = "Readiness: days of cover, stress scenarios and origin \
            concentration; the reserve's economics: valuation against the loans and net return \
            (operators, auditors, admins), as JSON or CSV. Computed from cached figures, lots \
            on hand and balances per effective day, never by scanning the journal."),
        (name = "ledger and audit", description = "The hash-chained journal, balances, verification, export, and the audit trail (operators, auditors, admins)"),
        (name = "notifications", description = "The event feed and signed webhooks (Standard Webhooks): \
            each delivery is a POST of the event with `webhook-id` (the event id), \
            `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of \
            \"{id}.{timestamp}.{body}\" keyed with the secret's decoded bytes>`. A 2xx is delivered; \
            410 disables the endpoint; anything else is retried after 5 s, 30 s, 2 min, 10 min, 1 h, \
            6 h, then every 12 h, until 3 days after the event. At least once: deduplicate by \
            `webhook-id`, order by `created_at`."),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "JWT with claims sub, role (manufacturer|operator|auditor|admin; the \
                         claim the service's auth.role_claim names, a role or a list of roles), \
                         org (manufacturers), exp; iss/aud when configured. Signed with the \
                         configured HS256 secret or public key, or by a key of the configured \
                         key set named by the header's kid.",
                    ))
                    .build(),
            ),
        );
    }
}

/// API.md accepts an `Idempotency-Key` on every write, so it is declared here once for all
/// of them rather than on each handler.
struct IdempotencyKeyHeader;

impl Modify for IdempotencyKeyHeader {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let header = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Makes the write safe to retry: the first response is replayed.",
            ))
            .schema(Some(Ref::from_schema_name(IdempotencyKey::name())))
            .build();
        for op in writes(doc) {
            op.parameters
                .get_or_insert_with(Vec::new)
                .push(header.clone());
        }
    }
}

/// `request_body = Option<T>` marks a body that may be left empty (API.md: commands with no
/// required field). utoipa renders it as "T or null" and leaves `required` out; a JSON
/// `null` body is refused (400), so the document says "T, not required" instead, and that
/// leaving it out means no Content-Type either.
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for op in writes(doc) {
            let Some(body) = op.request_body.as_mut().filter(|b| b.required.is_none()) else {
                continue;
            };
            body.required = Some(Required::False);
            body.description = Some(
                "Optional: send a JSON object, or no body and no Content-Type (an empty body \
                 declared application/json is 400 malformed_request)."
                    .to_owned(),
            );
            for content in body.content.values_mut() {
                if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema {
                    let not_null = one_of.items.iter().find(|s| !is_null(s)).cloned();
                    if not_null.is_some() {
                        content.schema = not_null;
                    }
                }
            }
        }
    }
}

/// The operations that write: every POST, PUT and PATCH.
fn writes(doc: &mut utoipa::openapi::OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [&mut item.post, &mut item.put, &mut item.patch]
            .into_iter()
            .flatten()
    })
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))
}

fn problem(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

fn responses(list: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    list.iter()
        .map(|(s, d)| ((*s).to_owned(), problem(d)))
        .collect()
}

const RATE_LIMITED: &str =
    "rate_limited: the client's rate limit is spent; `Retry-After` gives the seconds to wait";
const UNAVAILABLE: &str = "not_ready: the database is unavailable; or timeout: the request took \
    longer than the configured limit (a write may still have been applied: resend it with the \
    same Idempotency-Key). `Retry-After` on timeout";

/// The problems any authenticated read can answer.
pub struct ReadErrors;

impl IntoResponses for ReadErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[
            ("400", "malformed_request: a bad query parameter"),
            ("401", "unauthenticated"),
            ("403", "forbidden: the role may not read this"),
            ("404", "not_found: no such object, or not yours"),
            ("429", RATE_LIMITED),
            ("503", UNAVAILABLE),
        ])
    }
}

/// The problems any write can answer.
pub struct WriteErrors;

impl IntoResponses for WriteErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[
            ("400", "malformed_request: not JSON, a duplicate key, an empty body sent as application/json, wrong JSON types, unknown fields, bad Idempotency-Key"),
            ("401", "unauthenticated"),
            ("403", "forbidden: the role may not do this"),
            ("404", "not_found"),
            ("409", "conflict (duplicate code/name), invalid_state, or idempotency_key_reused"),
            ("413", "payload_too_large: body over 1 MiB"),
            ("415", "unsupported_media_type: a body that is not application/json"),
            ("422", "validation_failed (with `errors`), or a rule code (with `rule`)"),
            ("429", RATE_LIMITED),
            ("503", UNAVAILABLE),
        ])
    }
}

/// The document as JSON text, built once at start.
pub fn document() -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    doc.merge(routes::Operations::openapi());
    routes::document_security(&mut doc);
    for modifier in [
        &BearerAuth as &dyn Modify,
        &IdempotencyKeyHeader,
        &OptionalBodies,
    ] {
        modifier.modify(&mut doc);
    }
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    camel_case_links(&mut doc);
    doc
}

/// utoipa 5.5 writes a response link's `operationId` as `operation_id`, a field OpenAPI does
/// not know, so clients would not follow the link.
fn camel_case_links(doc: &mut serde_json::Value) {
    use serde_json::Value;
    let links = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(Value::as_object_mut))
        .flat_map(|responses| responses.values_mut())
        .filter_map(|r| r.get_mut("links").and_then(Value::as_object_mut))
        .flat_map(|links| links.values_mut())
        .filter_map(Value::as_object_mut);
    for link in links {
        if let Some(id) = link.remove("operation_id") {
            link.insert("operationId".into(), id);
        }
    }
}
