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
        version -> BigInt,
        min_grade -> Nullable<Text>,
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
    idempotency_keys (caller, idem_key) {
        caller -> Text,
        idem_key -> Text,
        fingerprint -> Text,
        status_code -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
        recorded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    journal_entries (seq) {
        seq -> BigInt,
        id -> Text,
        kind -> Text,
        reference -> Nullable<Text>,
        recorded_at -> Timestamp,
        prev_hash -> Text,
        hash -> Text,
        effective_date -> Nullable<Date>,
    }
}

diesel::table! {
    postings (entry_seq, idx) {
        entry_seq -> BigInt,
        idx -> Integer,
        account -> Text,
        asset -> Text,
        amount -> BigInt,
    }
}

diesel::table! {
    balances (account, asset) {
        account -> Text,
        asset -> Text,
        balance -> BigInt,
    }
}

diesel::table! {
    balances_by_day (account, asset, day) {
        account -> Text,
        asset -> Text,
        day -> Date,
        amount -> BigInt,
    }
}

diesel::table! {
    lots (id) {
        id -> Text,
        material_code -> Text,
        facility_code -> Text,
        quantity_received -> BigInt,
        quantity_on_hand -> BigInt,
        grade -> Text,
        origin_country -> Text,
        supplier -> Text,
        unit_cost_micros -> BigInt,
        received_at -> Timestamp,
        created_at -> Timestamp,
        source_lot_id -> Nullable<Text>,
        tranche_id -> Nullable<Text>,
        entry_seq -> BigInt,
    }
}

diesel::table! {
    holds (id) {
        id -> Text,
        material_code -> Text,
        quantity -> BigInt,
        status -> Text,
        reference -> Nullable<Text>,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        posted_quantity -> Nullable<BigInt>,
    }
}

diesel::table! {
    transfers (id) {
        id -> Text,
        material_code -> Text,
        from_facility -> Text,
        to_facility -> Text,
        quantity -> BigInt,
        entry_seq -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    adjustments (id) {
        id -> Text,
        material_code -> Text,
        facility_code -> Text,
        quantity -> BigInt,
        reason -> Text,
        entry_seq -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    loan_facilities (id) {
        id -> Text,
        lender -> Text,
        kind -> Text,
        commitment_cents -> BigInt,
        annual_rate_nanos -> BigInt,
        day_count -> Text,
        availability_end -> Date,
        maturity_date -> Date,
        tranched_cents -> BigInt,
        accrued_through -> Nullable<Date>,
        interest_posted_cents -> BigInt,
        interest_paid_cents -> BigInt,
        version -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tranches (id) {
        id -> Text,
        facility_id -> Text,
        amount_cents -> BigInt,
        available_from -> Date,
        purpose -> Text,
        drawn_cents -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    disbursements (id) {
        id -> Text,
        tranche_id -> Text,
        facility_id -> Text,
        amount_cents -> BigInt,
        value_date -> Date,
        reference -> Nullable<Text>,
        entry_seq -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    repayments (id) {
        id -> Text,
        facility_id -> Text,
        amount_cents -> BigInt,
        value_date -> Date,
        interest_cents -> BigInt,
        principal_cents -> BigInt,
        entry_seq -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    repayment_allocations (repayment_id, tranche_id) {
        repayment_id -> Text,
        tranche_id -> Text,
        principal_cents -> BigInt,
    }
}

diesel::table! {
    interest_accruals (id) {
        id -> Text,
        facility_id -> Text,
        accrued_through -> Date,
        interest_cents -> BigInt,
        cumulative_cents -> BigInt,
        entry_seq -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    fees (id) {
        id -> Text,
        manufacturer_id -> Text,
        kind -> Text,
        amount_cents -> BigInt,
        memo -> Nullable<Text>,
        entry_seq -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    fee_accrual_state (id) {
        id -> Integer,
        accrued_through -> Nullable<Date>,
    }
}

diesel::table! {
    fee_accrual_runs (through) {
        through -> Date,
        rate_nanos -> BigInt,
        fees_cents -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    fee_accruals (id) {
        id -> Text,
        through -> Date,
        manufacturer_id -> Text,
        amount_cents -> BigInt,
        entry_seq -> BigInt,
    }
}

diesel::table! {
    allocation_fees (manufacturer_id, material_code) {
        manufacturer_id -> Text,
        material_code -> Text,
        posted_cents -> BigInt,
    }
}

diesel::table! {
    fee_payments (id) {
        id -> Text,
        manufacturer_id -> Text,
        amount_cents -> BigInt,
        value_date -> Date,
        memo -> Nullable<Text>,
        entry_seq -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(postings -> journal_entries (entry_seq));
diesel::joinable!(repayment_allocations -> repayments (repayment_id));
diesel::allow_tables_to_appear_in_same_query!(journal_entries, postings);

diesel::table! {
    manufacturers (id) {
        id -> Text,
        name -> Text,
        priority_tier -> Text,
        status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    allocation_history (id) {
        id -> Text,
        manufacturer_id -> Text,
        material_code -> Text,
        at -> Timestamp,
        actor -> Text,
        quantity -> BigInt,
        locked_price_micros -> BigInt,
        monthly_consumption -> BigInt,
        effective_date -> Date,
    }
}

diesel::table! {
    allocations (manufacturer_id, material_code) {
        manufacturer_id -> Text,
        material_code -> Text,
        quantity -> BigInt,
        locked_price_micros -> BigInt,
        outstanding -> BigInt,
        held -> BigInt,
        updated_at -> Timestamp,
        monthly_consumption -> BigInt,
    }
}

diesel::table! {
    allocation_transfers (id) {
        id -> Text,
        from_manufacturer_id -> Text,
        to_manufacturer_id -> Text,
        material_code -> Text,
        quantity -> BigInt,
        price_cents -> BigInt,
        locked_price_micros -> BigInt,
        recipient_price_micros -> BigInt,
        actor -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    material_prices (material_code, as_of) {
        material_code -> Text,
        as_of -> Date,
        price_micros -> BigInt,
        source -> Text,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    disruptions (id) {
        id -> Text,
        title -> Text,
        severity -> Text,
        reason -> Text,
        status -> Text,
        proposed_by -> Text,
        confirmed_by -> Nullable<Text>,
        ended_by -> Nullable<Text>,
        created_at -> Timestamp,
        activated_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    disruption_materials (disruption_id, material_code) {
        disruption_id -> Text,
        material_code -> Text,
        open -> Bool,
        on_hand_at_activation -> Nullable<BigInt>,
        released -> BigInt,
        held -> BigInt,
    }
}

diesel::table! {
    drawdowns (id) {
        id -> Text,
        manufacturer_id -> Text,
        material_code -> Text,
        disruption_id -> Text,
        quantity_requested -> BigInt,
        quantity -> BigInt,
        status -> Text,
        required_approvals -> Integer,
        hold_id -> Text,
        justification -> Text,
        needed_by -> Nullable<Date>,
        policy -> Text,
        reject_reason -> Nullable<Text>,
        obligation_id -> Nullable<Text>,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        version -> BigInt,
    }
}

diesel::table! {
    drawdown_approvals (drawdown_id, operator) {
        drawdown_id -> Text,
        operator -> Text,
        quantity -> BigInt,
        at -> Timestamp,
    }
}

diesel::table! {
    release_picks (drawdown_id, idx) {
        drawdown_id -> Text,
        idx -> Integer,
        lot_id -> Text,
        facility -> Text,
        quantity -> BigInt,
    }
}

diesel::table! {
    obligations (id) {
        id -> Text,
        drawdown_id -> Text,
        manufacturer_id -> Text,
        material_code -> Text,
        base_quantity -> BigInt,
        quantity_due -> BigInt,
        quantity_returned -> BigInt,
        base_returned -> BigInt,
        due_date -> Date,
        status -> Text,
        created_at -> Timestamp,
        settled_at -> Nullable<Timestamp>,
        overdue_announced_for -> Nullable<Date>,
    }
}

diesel::table! {
    replenishments (id) {
        id -> Text,
        obligation_id -> Text,
        lot_id -> Text,
        quantity -> BigInt,
        base_share -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    obligation_reschedules (id) {
        id -> Text,
        obligation_id -> Text,
        old_due_date -> Date,
        new_due_date -> Date,
        reason -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        #[sql_name = "type"]
        event_type -> Text,
        created_at -> Timestamp,
        manufacturer_id -> Nullable<Text>,
        data -> Text,
        position -> Nullable<BigInt>,
    }
}

diesel::table! {
    feed_head (id) {
        id -> Integer,
        sequenced_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    event_materials (event_id, material_code) {
        event_id -> Text,
        material_code -> Text,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        manufacturer_id -> Nullable<Text>,
        created_by -> Text,
        url -> Text,
        events -> Text,
        description -> Nullable<Text>,
        status -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (endpoint_id, event_id) {
        event_id -> Text,
        endpoint_id -> Text,
        status -> Text,
        attempt -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        response_status -> Nullable<Integer>,
        delivered_at -> Nullable<Timestamp>,
        event_created_at -> Timestamp,
        leased_until -> Nullable<Timestamp>,
    }
}

diesel::joinable!(event_materials -> events (event_id));
diesel::joinable!(webhook_deliveries -> events (event_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::allow_tables_to_appear_in_same_query!(
    events,
    event_materials,
    allocations,
    webhook_endpoints,
    webhook_deliveries
);

diesel::joinable!(disruption_materials -> disruptions (disruption_id));
diesel::allow_tables_to_appear_in_same_query!(repayments, repayment_allocations);
diesel::allow_tables_to_appear_in_same_query!(
    materials,
    disruptions,
    disruption_materials,
    manufacturers,
    allocations,
    obligations
);
diesel::allow_tables_to_appear_in_same_query!(replenishments, journal_entries);
diesel::allow_tables_to_appear_in_same_query!(replenishments, postings);
