use crate::{Error, Result, Timestamp};

/// What a metric means to the planner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum MetricRole {
    /// Offered load in units per second (requests, messages, jobs): what workers must serve.
    /// The capacity model and the forecasters work on it.
    Load,
    /// Utilisation of the workers, as a fraction (0.7 = 70%), for example CPU.
    Utilisation,
    /// A latency, in any unit; higher is worse.
    Latency,
    /// Errors as a fraction of requests, or errors per second; higher is worse.
    ErrorRate,
    /// Anything else the host cares about (cache hit ratio, queue depth, connection-pool use).
    /// Anomalies are recorded but act on nothing by default.
    Custom,
}

impl MetricRole {
    /// Whether an upward anomaly of this metric means the service needs more capacity.
    ///
    /// Load, utilisation, latency and error rate all get worse upwards; a custom metric has no
    /// known direction, so its anomalies are reported but never scale.
    pub fn is_pressure_upwards(self) -> bool {
        matches!(
            self,
            MetricRole::Load
                | MetricRole::Utilisation
                | MetricRole::Latency
                | MetricRole::ErrorRate
        )
    }
}

/// One named metric of a [`Schema`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MetricSpec {
    /// The metric's name, unique within its schema.
    pub name: String,
    /// What the metric means to the planner.
    pub role: MetricRole,
}

/// The metrics of one component (a service, a worker pool, a queue): names, roles and order.
///
/// A [`Sample`] carries one value per metric, in the schema's order. A schema has at least one
/// [`MetricRole::Load`] metric; the first one (or the one chosen with
/// [`SchemaBuilder::primary_load`]) is the *primary* load that capacity is planned for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Schema {
    component: String,
    metrics: Vec<MetricSpec>,
    primary_load: usize,
}

impl Schema {
    /// Starts a schema for `component` (the identifier of the stream, for example a deployment
    /// name).
    pub fn builder(component: impl Into<String>) -> SchemaBuilder {
        SchemaBuilder {
            component: component.into(),
            metrics: Vec::new(),
            primary_load: None,
        }
    }

    /// The component this schema describes.
    pub fn component(&self) -> &str {
        &self.component
    }

    /// The metrics, in sample order.
    pub fn metrics(&self) -> &[MetricSpec] {
        &self.metrics
    }

    /// How many metrics a sample carries.
    pub fn len(&self) -> usize {
        self.metrics.len()
    }

    /// Always false: a valid schema has at least one metric.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// The position of the metric called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.metrics.iter().position(|m| m.name == name)
    }

    /// The position of the primary load metric.
    pub fn primary_load(&self) -> usize {
        self.primary_load
    }

    /// The position of the first metric with `role`.
    pub fn first_with_role(&self, role: MetricRole) -> Option<usize> {
        self.metrics.iter().position(|m| m.role == role)
    }
}

/// Builds a [`Schema`]; see [`Schema::builder`].
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    component: String,
    metrics: Vec<MetricSpec>,
    primary_load: Option<String>,
}

impl SchemaBuilder {
    /// Adds a metric; samples carry values in the order metrics are added.
    pub fn metric(mut self, name: impl Into<String>, role: MetricRole) -> Self {
        self.metrics.push(MetricSpec {
            name: name.into(),
            role,
        });
        self
    }

    /// Chooses which load metric capacity is planned for (default: the first load metric).
    pub fn primary_load(mut self, name: impl Into<String>) -> Self {
        self.primary_load = Some(name.into());
        self
    }

    /// Checks and builds the schema.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`] when the component or a metric name is empty, a name repeats,
    /// there is no load metric, or the chosen primary load is not a load metric.
    pub fn build(self) -> Result<Schema> {
        if self.component.trim().is_empty() {
            return Err(Error::InvalidSchema("component name is empty".into()));
        }
        if self.metrics.is_empty() {
            return Err(Error::InvalidSchema("no metrics".into()));
        }
        for (i, m) in self.metrics.iter().enumerate() {
            if m.name.trim().is_empty() {
                return Err(Error::InvalidSchema(format!(
                    "metric {i} has an empty name"
                )));
            }
            if self.metrics[..i].iter().any(|o| o.name == m.name) {
                return Err(Error::InvalidSchema(format!(
                    "metric `{}` appears twice",
                    m.name
                )));
            }
        }
        let primary_load = match &self.primary_load {
            Some(name) => {
                let i = self
                    .metrics
                    .iter()
                    .position(|m| &m.name == name)
                    .ok_or_else(|| Error::UnknownMetric(name.clone()))?;
                if self.metrics[i].role != MetricRole::Load {
                    return Err(Error::InvalidSchema(format!(
                        "primary load `{name}` does not have the load role"
                    )));
                }
                i
            }
            None => self
                .metrics
                .iter()
                .position(|m| m.role == MetricRole::Load)
                .ok_or_else(|| Error::InvalidSchema("no metric has the load role".into()))?,
        };
        Ok(Schema {
            component: self.component,
            metrics: self.metrics,
            primary_load,
        })
    }
}

/// The values of every metric of a schema at one instant.
///
/// A value that is NaN or infinite means "missing" for that metric at that instant: a scrape
/// failed, a counter reset, a division by zero upstream. The pipeline skips it (see the `Scaler`'s
/// gap policy) instead of learning from it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Sample {
    /// When the values were observed.
    pub ts: Timestamp,
    /// One value per metric, in schema order.
    pub values: Vec<f64>,
}

impl Sample {
    /// A sample at `ts` with `values` in schema order.
    pub fn new(ts: Timestamp, values: Vec<f64>) -> Self {
        Sample { ts, values }
    }

    /// Checks that the sample has one value per metric of `schema`.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaMismatch`] when the lengths differ.
    pub fn check(&self, schema: &Schema) -> Result<()> {
        if self.values.len() == schema.len() {
            Ok(())
        } else {
            Err(Error::SchemaMismatch {
                expected: schema.len(),
                got: self.values.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_needs_a_load_metric() {
        let err = Schema::builder("svc")
            .metric("cpu", MetricRole::Utilisation)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidSchema(_)));
    }

    #[test]
    fn schema_rejects_duplicate_and_empty_names() {
        let dup = Schema::builder("svc")
            .metric("rps", MetricRole::Load)
            .metric("rps", MetricRole::Latency)
            .build();
        assert!(matches!(dup, Err(Error::InvalidSchema(_))));
        let empty = Schema::builder("svc").metric(" ", MetricRole::Load).build();
        assert!(matches!(empty, Err(Error::InvalidSchema(_))));
        let no_component = Schema::builder("").metric("rps", MetricRole::Load).build();
        assert!(matches!(no_component, Err(Error::InvalidSchema(_))));
    }

    #[test]
    fn primary_load_is_chosen_and_checked() {
        let s = Schema::builder("svc")
            .metric("cpu", MetricRole::Utilisation)
            .metric("rps", MetricRole::Load)
            .metric("rps_b", MetricRole::Load)
            .primary_load("rps_b")
            .build()
            .unwrap();
        assert_eq!(s.primary_load(), 2);
        let wrong = Schema::builder("svc")
            .metric("cpu", MetricRole::Utilisation)
            .metric("rps", MetricRole::Load)
            .primary_load("cpu")
            .build();
        assert!(matches!(wrong, Err(Error::InvalidSchema(_))));
        let unknown = Schema::builder("svc")
            .metric("rps", MetricRole::Load)
            .primary_load("nope")
            .build();
        assert_eq!(unknown, Err(Error::UnknownMetric("nope".into())));
    }

    #[test]
    fn sample_check_catches_ragged_input() {
        let s = Schema::builder("svc")
            .metric("rps", MetricRole::Load)
            .build()
            .unwrap();
        let bad = Sample::new(Timestamp::EPOCH, vec![1.0, 2.0]);
        assert_eq!(
            bad.check(&s),
            Err(Error::SchemaMismatch {
                expected: 1,
                got: 2
            })
        );
    }
}
