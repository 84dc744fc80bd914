-- The aggregate the batch function uses (metadata merged in stream order). The batch
-- function itself, like every pentagon_* function, lives in ../functions/.

CREATE AGGREGATE pentagon_jsonb_merge(jsonb) (sfunc = jsonb_concat, stype = jsonb, initcond = '{}');

