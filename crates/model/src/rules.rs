//! The rule table (model-spec §1) and `predict`. PLACEHOLDER: being written.
use crate::{Context, Prediction, Request, RuleInfo};

pub static RULES: &[RuleInfo] = &[];

pub fn predict(_req: &Request, _ctx: &Context) -> Prediction {
    unimplemented!()
}
