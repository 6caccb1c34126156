//! The kernel command line (`/proc/cmdline`): split into parameters, with the CPU-list parameters
//! (`isolcpus`, `nohz_full`, `rcu_nocbs`, `irqaffinity`) decoded.
//!
//! Only the kernel's part is read: everything after a bare `--` belongs to init and is ignored.
//! Parsing never panics; a value that is not a CPU list is reported as such by the caller.

use crate::cpuset::CpuSet;

/// The kernel parameters of one boot, in command-line order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelCmdline {
    params: Vec<(String, Option<String>)>,
}

impl KernelCmdline {
    /// Splits the text of `/proc/cmdline`. Double-quoted values keep their spaces.
    pub fn parse(text: &str) -> Self {
        let mut params = Vec::new();
        for word in split_words(text) {
            if word == "--" {
                break;
            }
            match word.split_once('=') {
                Some((k, v)) => params.push((k.to_string(), Some(v.trim_matches('"').to_string()))),
                None => params.push((word, None)),
            }
        }
        Self { params }
    }

    /// The value of the last occurrence of `name` (the kernel lets later ones win); `Some(None)`
    /// for a bare flag, `None` when absent.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_deref())
    }

    /// The CPU list of a CPU-list parameter. For `isolcpus` the leading flags
    /// (`nohz`, `domain`, `managed_irq`) are skipped. `None` if absent, `Some(Err(raw))` if the
    /// value is not a CPU list.
    pub fn cpu_list(&self, name: &str) -> Option<Result<CpuSet, String>> {
        let value = self.get(name)?.unwrap_or("");
        let list: Vec<&str> = value
            .split(',')
            .filter(|item| !matches!(*item, "nohz" | "domain" | "managed_irq"))
            .collect();
        Some(CpuSet::parse_list(&list.join(",")).map_err(|_| value.to_string()))
    }

    /// The flags of `isolcpus` (`domain`, `managed_irq`, `nohz`); `domain` is implied when none
    /// is given.
    pub fn isolcpus_flags(&self) -> Vec<String> {
        let Some(Some(value)) = self.get("isolcpus") else {
            return Vec::new();
        };
        let flags: Vec<String> = value
            .split(',')
            .filter(|item| matches!(*item, "nohz" | "domain" | "managed_irq"))
            .map(str::to_string)
            .collect();
        if flags.is_empty() {
            vec!["domain".to_string()]
        } else {
            flags
        }
    }
}

fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_params_and_stops_at_init_args() {
        let c = KernelCmdline::parse(
            "BOOT_IMAGE=/vmlinuz quiet isolcpus=managed_irq,domain,2-3 nohz_full=2-3 \
             foo=\"a b\" -- isolcpus=9\n",
        );
        assert_eq!(c.get("quiet"), Some(None));
        assert_eq!(c.get("foo"), Some(Some("a b")));
        assert_eq!(c.get("absent"), None);
        assert_eq!(c.cpu_list("isolcpus"), Some(Ok(CpuSet::from_cpus([2, 3]))));
        assert_eq!(c.isolcpus_flags(), vec!["managed_irq", "domain"]);
        assert_eq!(c.cpu_list("nohz_full"), Some(Ok(CpuSet::from_cpus([2, 3]))));
    }

    #[test]
    fn later_params_win_and_bad_lists_are_reported() {
        let c = KernelCmdline::parse("isolcpus=1 isolcpus=3 nohz_full=all");
        assert_eq!(c.cpu_list("isolcpus"), Some(Ok(CpuSet::from_cpus([3]))));
        assert_eq!(c.isolcpus_flags(), vec!["domain"]);
        assert_eq!(c.cpu_list("nohz_full"), Some(Err("all".to_string())));
    }
}
