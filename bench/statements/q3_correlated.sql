-- the same data as q3 in PostGraphile's style (correlated subqueries, text arrays), written by hand
select e.id::text, e.merchant_name, e.amount_minor::text, e.currency, e.home_amount_minor::text, e.home_currency, e.spent_at::text, e.status, e.created_at::text,
 (select array[m.id::text, m.name, m.email]::text[] from members m where m.business_id = e.business_id and m.id = e.member_id) as m,
 (select array[c.id::text, c.last4, c.status]::text[] from cards c where c.business_id = e.business_id and c.id = e.card_id) as c,
 array(select array[r.id::text, r.file_name, r.content_type, r.size_bytes::text]::text[] from receipts r where r.business_id = e.business_id and r.expense_id = e.id order by r.uploaded_at, r.id)::text as r
from expenses e where e.business_id = $1 and e.id = $2
