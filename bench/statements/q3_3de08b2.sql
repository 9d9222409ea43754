-- peerbench's q3 (an expense's detail) as the fast lane sent it at 3de08b2: $1 the business, $2 the expense
WITH _l0(_c0, _c1, _c2, _c3, _c4, _c5, _c6, _c7, _c8, _c9, _c10) AS MATERIALIZED (SELECT expenses.amount_minor, expenses.card_id, expenses.created_at, expenses.currency, expenses.home_amount_minor, expenses.home_currency, expenses.id, expenses.member_id, expenses.merchant_name, expenses.spent_at, expenses.status 
FROM expenses 
WHERE expenses.business_id = $1::BIGINT AND expenses.id = $2::BIGINT) SELECT * FROM (SELECT) AS _one LEFT JOIN LATERAL (SELECT true AS _p0, _s.* FROM _l0 AS _s) AS _m0 ON true LEFT JOIN LATERAL (SELECT true AS _p1, _s.* FROM (SELECT members.email, members.id, members.name 
FROM members 
WHERE members.business_id = $3::BIGINT AND members.id = (SELECT _c7 FROM _l0)) AS _s(_c0, _c1, _c2)) AS _m1 ON true LEFT JOIN LATERAL (SELECT true AS _p2, _s.* FROM (SELECT cards.id, cards.last4, cards.status 
FROM cards 
WHERE cards.business_id = $4::BIGINT AND cards.id = (SELECT _c1 FROM _l0)) AS _s(_c0, _c1, _c2)) AS _m2 ON true LEFT JOIN LATERAL (SELECT array_agg(_c0) AS _a3_0, array_agg(_c1) AS _a3_1, array_agg(_c2) AS _a3_2, array_agg(_c3) AS _a3_3, array_agg(_c4) AS _a3_4 FROM (SELECT receipts.content_type, receipts.expense_id, receipts.file_name, receipts.id, receipts.size_bytes 
FROM receipts 
WHERE receipts.business_id = $5::BIGINT AND receipts.expense_id = (SELECT _c6 FROM _l0) ORDER BY receipts.uploaded_at, receipts.id) AS _s(_c0, _c1, _c2, _c3, _c4)) AS _m3 ON true
