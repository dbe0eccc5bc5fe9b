//! OCI image layouts
