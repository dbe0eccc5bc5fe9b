//! The standard set of test images most pin tests resolve against, and the
//! placeholders fixtures use for them.
//!
//! | reference            | what                                   |
//! |----------------------|----------------------------------------|
//! | `REG/app:1.0`        | single-platform (linux/amd64)          |
//! | `REG/app:2.0`        | another single-platform image          |
//! | `REG/multi:2.0`      | index: linux/amd64 + linux/arm64       |
//! | `REG/base:latest`    | single-platform (what untagged means)  |
//! | `REG/tool/cli:v3`    | single-platform, nested repository     |
//!
//! Fixture placeholders: `%%REG%%` (the registry's host:port) and
//! `%%repo:tag%%` (its digest), `%%multi:2.0 linux/arm64%%` (a platform's
//! manifest digest).

use std::collections::BTreeMap;

use tempfile::TempDir;

use super::oci::{Image, Index, OciLayout};
use super::registry::Registry;

pub struct Images {
    pub host: String,
    pub app: Image,
    pub app2: Image,
    pub multi: Index,
    pub base: Image,
    pub cli: Image,
    _layout: TempDir,
}

impl Images {
    /// Builds the set as one OCI layout and pushes each image to `registry`.
    #[track_caller]
    pub fn push(registry: &Registry) -> Images {
        let layout_dir = tempfile::Builder::new()
            .prefix("wharf-layout-")
            .tempdir()
            .expect("dir");
        let mut layout = OciLayout::new(layout_dir.path());
        let app = layout.add_image("app-1.0", "linux", "amd64", "app:1.0");
        let app2 = layout.add_image("app-2.0", "linux", "amd64", "app:2.0");
        let multi = layout.add_index("multi-2.0", "multi:2.0");
        let base = layout.add_image("base-latest", "linux", "amd64", "base:latest");
        let cli = layout.add_image("cli-v3", "linux", "amd64", "tool/cli:v3");
        layout.push("app-1.0", registry, "app", "1.0");
        layout.push("app-2.0", registry, "app", "2.0");
        layout.push("multi-2.0", registry, "multi", "2.0");
        layout.push("base-latest", registry, "base", "latest");
        layout.push("cli-v3", registry, "tool/cli", "v3");
        Images {
            host: registry.host().to_string(),
            app,
            app2,
            multi,
            base,
            cli,
            _layout: layout_dir,
        }
    }

    /// Placeholder → value, for [`super::tree`] substitution.
    pub fn placeholders(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        map.insert("%%REG%%".to_string(), self.host.clone());
        map.insert("%%app:1.0%%".to_string(), self.app.digest.clone());
        map.insert("%%app:2.0%%".to_string(), self.app2.digest.clone());
        map.insert("%%multi:2.0%%".to_string(), self.multi.digest.clone());
        for platform in ["linux/amd64", "linux/arm64"] {
            map.insert(
                format!("%%multi:2.0 {platform}%%"),
                self.multi.platform(platform).to_string(),
            );
        }
        map.insert("%%base:latest%%".to_string(), self.base.digest.clone());
        map.insert("%%tool/cli:v3%%".to_string(), self.cli.digest.clone());
        map
    }
}
