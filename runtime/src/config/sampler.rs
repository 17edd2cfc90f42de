//! The head sampler: `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` read as the
//! OpenTelemetry SDK specification defines them, into a [`Sampler`]; and the same in a
//! config file (`"sampler": "parentbased_traceidratio", "sampler_arg": 0.1`).

use serde::Deserialize;

use super::ConfigError;
use crate::model::sampler::Sampler;

const SAMPLER_ACCEPTED: &str = "always_on, always_off, traceidratio, parentbased_always_on, \
     parentbased_always_off or parentbased_traceidratio (default parentbased_always_on)";
const RATIO_ACCEPTED: &str = "a sampling ratio from 0 to 1, e.g. 0.1 (default 1.0)";

/// The sampler named by `OTEL_TRACES_SAMPLER` (case-insensitive; unset or empty: the
/// default `parentbased_always_on`), with `OTEL_TRACES_SAMPLER_ARG` as the ratio of the
/// ratio samplers (unset or empty: 1.0; ignored by the others, as the specification says).
pub(crate) fn sampler_from_lookup(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Sampler, ConfigError> {
    let name = lookup("OTEL_TRACES_SAMPLER").unwrap_or_default();
    let arg = lookup("OTEL_TRACES_SAMPLER_ARG").unwrap_or_default();
    parse_sampler(
        "OTEL_TRACES_SAMPLER",
        &name,
        "OTEL_TRACES_SAMPLER_ARG",
        &arg,
    )
}

/// `name` (empty: the default) with the ratio `arg` (empty: 1.0).
pub(crate) fn parse_sampler(
    name_variable: &'static str,
    name: &str,
    arg_variable: &'static str,
    arg: &str,
) -> Result<Sampler, ConfigError> {
    let ratio = || parse_ratio(arg_variable, arg);
    let name = name.trim();
    Ok(match name.to_ascii_lowercase().as_str() {
        "" | "parentbased_always_on" => Sampler::ParentBasedAlwaysOn,
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatio(ratio()?),
        "parentbased_always_off" => Sampler::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => Sampler::ParentBasedTraceIdRatio(ratio()?),
        known @ ("jaeger_remote" | "parentbased_jaeger_remote" | "xray") => {
            return Err(ConfigError::Invalid {
                variable: name_variable,
                value: name.to_owned(),
                problem: format!("the `{known}` sampler is not supported by llm-telemetry"),
                expected: SAMPLER_ACCEPTED,
            })
        }
        _ => {
            return Err(ConfigError::Invalid {
                variable: name_variable,
                value: name.to_owned(),
                problem: "unknown sampler".into(),
                expected: SAMPLER_ACCEPTED,
            })
        }
    })
}

fn parse_ratio(variable: &'static str, value: &str) -> Result<f64, ConfigError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(1.0);
    }
    let invalid = |problem: &str| ConfigError::Invalid {
        variable,
        value: value.to_owned(),
        problem: problem.to_owned(),
        expected: RATIO_ACCEPTED,
    };
    let ratio: f64 = value.parse().map_err(|_| invalid("not a number"))?;
    if !(0.0..=1.0).contains(&ratio) {
        return Err(invalid("out of range"));
    }
    Ok(ratio)
}

/// In a config file the sampler is its `OTEL_TRACES_SAMPLER` name, or the name with its
/// ratio: `"sampler": "always_off"`, `"sampler": {"name": "traceidratio", "arg": 0.1}`
/// (TOML: `sampler = { name = "traceidratio", arg = 0.1 }`); `arg` may be a number or a
/// string.
impl<'de> Deserialize<'de> for Sampler {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Ratio {
            Number(f64),
            Text(String),
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Name(String),
            WithArg {
                name: String,
                #[serde(default)]
                arg: Option<Ratio>,
            },
        }
        let (name, arg) = match Form::deserialize(d)? {
            Form::Name(name) => (name, String::new()),
            Form::WithArg { name, arg } => (
                name,
                match arg {
                    Some(Ratio::Number(n)) => n.to_string(),
                    Some(Ratio::Text(t)) => t,
                    None => String::new(),
                },
            ),
        };
        parse_sampler("sampler", &name, "sampler.arg", &arg).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Sampler, ConfigError> {
        sampler_from_lookup(&|k: &str| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn every_specified_name_parses() {
        assert_eq!(from(&[]).unwrap(), Sampler::ParentBasedAlwaysOn);
        assert_eq!(
            from(&[("OTEL_TRACES_SAMPLER", "")]).unwrap(),
            Sampler::ParentBasedAlwaysOn
        );
        for (name, want) in [
            ("always_on", Sampler::AlwaysOn),
            ("ALWAYS_OFF", Sampler::AlwaysOff),
            ("traceidratio", Sampler::TraceIdRatio(0.25)),
            ("parentbased_always_on", Sampler::ParentBasedAlwaysOn),
            ("parentbased_always_off", Sampler::ParentBasedAlwaysOff),
            (
                "parentbased_traceidratio",
                Sampler::ParentBasedTraceIdRatio(0.25),
            ),
        ] {
            let got = from(&[
                ("OTEL_TRACES_SAMPLER", name),
                ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ])
            .unwrap();
            assert_eq!(got, want, "{name}");
        }
        // The ratio defaults to 1.0; other samplers ignore the argument.
        assert_eq!(
            from(&[("OTEL_TRACES_SAMPLER", "traceidratio")]).unwrap(),
            Sampler::TraceIdRatio(1.0)
        );
        assert_eq!(
            from(&[
                ("OTEL_TRACES_SAMPLER", "always_on"),
                ("OTEL_TRACES_SAMPLER_ARG", "junk")
            ])
            .unwrap(),
            Sampler::AlwaysOn
        );
    }

    #[test]
    fn bad_values_name_the_variable_the_value_and_what_is_accepted() {
        let err = from(&[("OTEL_TRACES_SAMPLER", "sometimes")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("OTEL_TRACES_SAMPLER=\"sometimes\""), "{err}");
        assert!(err.contains("parentbased_traceidratio"), "{err}");
        let err = from(&[("OTEL_TRACES_SAMPLER", "xray")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("not supported"), "{err}");
        for bad in ["1.5", "-0.1", "ten percent", "NaN"] {
            let err = from(&[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", bad),
            ])
            .unwrap_err()
            .to_string();
            assert!(err.contains("OTEL_TRACES_SAMPLER_ARG="), "{err}");
            assert!(err.contains("from 0 to 1"), "{err}");
        }
    }

    #[test]
    fn config_file_forms() {
        let s: Sampler = serde_json::from_str(r#""always_off""#).unwrap();
        assert_eq!(s, Sampler::AlwaysOff);
        let s: Sampler = serde_json::from_str(r#"{"name": "traceidratio", "arg": 0.5}"#).unwrap();
        assert_eq!(s, Sampler::TraceIdRatio(0.5));
        let s: Sampler = serde_json::from_str(r#"{"name": "traceidratio", "arg": "0.5"}"#).unwrap();
        assert_eq!(s, Sampler::TraceIdRatio(0.5));
        let err = serde_json::from_str::<Sampler>(r#"{"name": "traceidratio", "arg": 2}"#)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("sampler.arg=\"2\""), "{err}");
    }
}
