-- Rendered by Airflow as a template file (MaterializeCopyToS3Operator.template_ext)
SELECT id
FROM template_rows
WHERE grp = {{ params.group }}
