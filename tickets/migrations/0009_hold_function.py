# The lean first hold (issue 18; tickets/services/first_hold.py, BENCHMARKS.md "rush"): a
# buyer's first hold of a function as one PostgreSQL function, so a hold is one round trip
# with no Python between the guarded UPDATE and COMMIT.
#
# `lodgetix_first_hold_declines` is the one predicate that says which holds the function
# leaves to the general path (tickets/services/holds.py): anything it does not know how to
# answer exactly. A rule added to ticket types later must be added there (CREATE OR
# REPLACE in a new migration) or the fast path would skip it.
#
# SQLite has no functions of this kind: there the general path serves every hold.

from django.db import migrations

from tickets.models import SEATS_PER_LODGE_TABLE

DECLINES = """
CREATE OR REPLACE FUNCTION lodgetix_first_hold_declines(
    tt tickets_tickettype, ev tickets_event, fn tickets_function,
    registration_type text, quantity integer
) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT NOT fn.published
        OR ev.status <> 'published'
        OR tt.withdrawn
        OR (tt.sales_start IS NOT NULL AND statement_timestamp() < tt.sales_start)
        OR (tt.sales_end IS NOT NULL AND statement_timestamp() >= tt.sales_end)
        OR registration_type NOT IN ('individual', 'lodge', 'delegation')
        -- Eligibility (docs/design.md section 15): a registration type the ticket type is
        -- not for is refused, with its reason, by the general path.
        OR NOT (tt.eligible_registration_types = '[]'::jsonb
                OR tt.eligible_registration_types ? registration_type)
        OR CASE WHEN registration_type = 'lodge' AND tt.sold_by_table
                THEN quantity NOT BETWEEN 1 AND tt.max_tables_per_order
                ELSE quantity NOT BETWEEN tt.min_per_order AND tt.max_per_order
           END
$$;
"""

FIRST_HOLD = f"""
CREATE OR REPLACE FUNCTION lodgetix_first_hold(
    p_slug text, p_ticket_type_id bigint, p_quantity integer, p_registration jsonb,
    p_address_cap integer, p_lock_timeout text
) RETURNS TABLE (
    o_outcome text, o_registration_id uuid, o_expires_at timestamptz, o_seats integer,
    o_tables integer, o_held integer, o_name text, o_event_id bigint, o_function_id bigint,
    o_low_stock_threshold integer, o_capacity integer, o_reserved integer, o_sold integer,
    o_version bigint, o_waiting integer, o_waitlist_closed boolean
) LANGUAGE plpgsql AS $$
DECLARE
    fn tickets_function;
    ev tickets_event;
    tt tickets_tickettype;
    reg tickets_registration;
    v_type text := p_registration->>'registration_type';
    v_address text := coalesce(p_registration->>'client_address', '');
    v_withdrawn boolean;
BEGIN
    -- SET LOCAL: bounds every lock wait of this statement's transaction only.
    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    o_outcome := 'decline';
    SELECT * INTO fn FROM tickets_function f WHERE f.slug = p_slug;
    IF NOT FOUND THEN RETURN NEXT; RETURN; END IF;
    SELECT * INTO tt FROM tickets_tickettype t WHERE t.id = p_ticket_type_id;
    IF NOT FOUND THEN RETURN NEXT; RETURN; END IF;
    SELECT * INTO ev FROM tickets_event e WHERE e.id = tt.event_id AND e.function_id = fn.id;
    IF NOT FOUND OR lodgetix_first_hold_declines(tt, ev, fn, v_type, p_quantity) THEN
        RETURN NEXT; RETURN;
    END IF;
    o_name := tt.name; o_event_id := ev.id; o_function_id := fn.id;
    o_low_stock_threshold := fn.low_stock_threshold;
    IF v_type = 'lodge' AND tt.sold_by_table THEN
        o_seats := p_quantity * {SEATS_PER_LODGE_TABLE}; o_tables := p_quantity;
    ELSE
        o_seats := p_quantity; o_tables := NULL;
    END IF;

    -- The address cap (docs/design.md section 3.12): what has committed, before any lock.
    IF p_address_cap IS NOT NULL AND v_address <> '' THEN
        o_held := 0;
        IF o_seats <= p_address_cap THEN
            SELECT coalesce(sum(h.seats), 0) INTO o_held
              FROM tickets_hold h JOIN tickets_registration r ON r.id = h.registration_id
             WHERE h.status = 'active' AND r.function_id = fn.id AND r.status = 'pending'
               AND r.client_address = v_address;
        END IF;
        IF o_held + o_seats > p_address_cap THEN
            o_outcome := 'address_cap'; RETURN NEXT; RETURN;
        END IF;
    END IF;

    reg := jsonb_populate_record(NULL::tickets_registration, p_registration);
    reg.function_id := fn.id;
    reg.expires_at := statement_timestamp() + make_interval(mins => fn.hold_minutes);
    BEGIN
        -- Lock order: the registration first (here the unique index entry a concurrent
        -- first hold of the same buyer would wait on), the hot ticket type last.
        INSERT INTO tickets_registration SELECT reg.*
            ON CONFLICT (buyer_key, function_id) WHERE status = 'pending' DO NOTHING;
        IF NOT FOUND THEN
            -- The buyer has an open registration: adding to it is the general path's.
            RETURN NEXT; RETURN;
        END IF;
        INSERT INTO tickets_hold
            (registration_id, ticket_type_id, seats, tables, unit_price, status,
             expires_at, created_at)
            VALUES (reg.id, tt.id, o_seats, o_tables, tt.price, 'active',
                    reg.expires_at, reg.created_at);
        -- The guard (tickets/services/inventory.py reserve), the last statement: the hot
        -- row's lock is held from here to COMMIT, with no client round trip in between.
        UPDATE tickets_tickettype t
           SET reserved = t.reserved + o_seats, version = t.version + 1
         WHERE t.id = tt.id AND NOT t.withdrawn AND t.capacity - t.reserved - t.sold >= o_seats
        RETURNING t.capacity, t.reserved, t.sold, t.version, t.waiting, t.waitlist_closed
             INTO o_capacity, o_reserved, o_sold, o_version, o_waiting, o_waitlist_closed;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'not enough seats' USING ERRCODE = 'LX001';
        END IF;
    EXCEPTION WHEN SQLSTATE 'LX001' THEN
        -- The block's inserts are rolled back. Expired holds the sweeper has not reached
        -- yet, or a withdrawal meanwhile: the general path answers those.
        IF EXISTS (SELECT 1 FROM tickets_hold h
                    WHERE h.ticket_type_id = tt.id AND h.status = 'active'
                      AND h.expires_at <= statement_timestamp()) THEN
            RETURN NEXT; RETURN;
        END IF;
        SELECT t.capacity, t.reserved, t.sold, t.version, t.waiting, t.waitlist_closed,
               t.withdrawn
          INTO o_capacity, o_reserved, o_sold, o_version, o_waiting, o_waitlist_closed,
               v_withdrawn
          FROM tickets_tickettype t WHERE t.id = tt.id;
        IF NOT v_withdrawn THEN o_outcome := 'not_enough'; END IF;
        RETURN NEXT; RETURN;
    END;
    o_outcome := 'granted';
    o_registration_id := reg.id;
    o_expires_at := reg.expires_at;
    RETURN NEXT;
END;
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS lodgetix_first_hold(text, bigint, integer, jsonb, integer, text);
DROP FUNCTION IF EXISTS lodgetix_first_hold_declines(
    tickets_tickettype, tickets_event, tickets_function, text, integer);
"""


def create_functions(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DECLINES)
        schema_editor.execute(FIRST_HOLD)


def drop_functions(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_dashboard")]

    operations = [migrations.RunPython(create_functions, drop_functions)]
