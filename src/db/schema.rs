// Table definitions shared by both backends (only the types MultiConnection supports).

diesel::table! {
    materials (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        unit -> Text,
        scale -> Integer,
        strategic_floor -> BigInt,
        on_hand -> BigInt,
        held -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    facilities (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        country -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> Timestamp,
        actor_sub -> Text,
        actor_role -> Text,
        action -> Text,
        target -> Nullable<Text>,
        outcome -> Text,
        request_id -> Text,
    }
}

diesel::table! {
    idempotency_keys (actor_sub, idem_key) {
        actor_sub -> Text,
        idem_key -> Text,
        fingerprint -> Text,
        status_code -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}
