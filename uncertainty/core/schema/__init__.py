"""The params.yaml schema: one module per section, so a stage depends on the sections it reads.

`base` holds what every section shares; each section module holds only types and bounds (what one
value must be); `params` assembles the whole file (check_params and the report); `descriptions`
says what each key means, apart from the types, so rewording one re-runs no stage that computes.
Nothing here imports anything heavy (pydantic only).
"""
