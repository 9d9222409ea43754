-- peerbench's q2 (a teams overview) as the fast lane sent it at 3de08b2: $1 the business
WITH _l0(_c0, _c1, _c2, _c3, _c4, _c5) AS MATERIALIZED (SELECT teams.business_id, teams.id, teams.name, teams.manager_id, teams.created_at, teams.archived_at 
FROM teams 
WHERE teams.business_id = $1::BIGINT ORDER BY teams.created_at ASC, teams.id ASC 
 LIMIT 21) SELECT * FROM (SELECT array_agg(_c0) AS _a0_0, array_agg(_c1) AS _a0_1, array_agg(_c2) AS _a0_2, array_agg(_c3) AS _a0_3, array_agg(_c4) AS _a0_4, array_agg(_c5) AS _a0_5 FROM _l0 AS _s) AS _m0, (SELECT array_agg(_c0) AS _a1_0, array_agg(_c1) AS _a1_1 FROM (SELECT members.team_id, count(*) AS n 
FROM members 
WHERE members.business_id = $2::BIGINT AND members.team_id = ANY (ARRAY(SELECT _c1 FROM _l0)) AND members.deactivated_at IS NULL GROUP BY members.team_id) AS _s(_c0, _c1)) AS _m1, (SELECT array_agg(_c0) AS _a2_0, array_agg(_c1) AS _a2_1, array_agg(_c2) AS _a2_2, array_agg(_c3) AS _a2_3, array_agg(_c4) AS _a2_4 FROM (SELECT p.parent_id, x.amount_minor, x.currency, x.id, x.merchant_name 
FROM (SELECT DISTINCT _c1 FROM _l0 WHERE _c1 IS NOT NULL) AS p(parent_id) JOIN LATERAL (SELECT expenses.amount_minor AS amount_minor, expenses.currency AS currency, expenses.id AS id, expenses.merchant_name AS merchant_name 
FROM expenses 
WHERE expenses.business_id = $3::BIGINT AND expenses.deleted_at IS NULL AND expenses.team_id = p.parent_id ORDER BY expenses.spent_at DESC, expenses.id DESC 
 LIMIT 6) AS x ON true) AS _s(_c0, _c1, _c2, _c3, _c4)) AS _m2
