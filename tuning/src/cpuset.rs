//! CPU sets: the kernel's CPU-list syntax (`0-3,8,10-15:2/4`) and hexadecimal masks
//! (`00000000,0000000f`), parsed into an ordered set and printed back in the compact list form.
//!
//! Owns only parsing and set arithmetic. Parsing never panics: malformed text is an error value
//! the caller reports. Nothing here touches the host.

use std::collections::BTreeSet;
use std::fmt;

/// Highest CPU number accepted from text. Linux's `CONFIG_NR_CPUS` tops out at 8192
/// (arch/x86/Kconfig `NR_CPUS_RANGE_END`); anything above is a malformed value, and the bound keeps
/// a hostile range like `0-4000000000` from allocating.
pub const MAX_CPU: usize = 8191;

/// An ordered set of CPU numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CpuSet(BTreeSet<usize>);

/// Why a CPU list or mask could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a CPU list or mask: {text:?}")]
pub struct CpuSetParseError {
    /// The offending text, as found.
    pub text: String,
}

impl CpuSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the kernel CPU-list syntax: comma-separated `N`, `A-B` and `A-B:USED/GROUP`
    /// items. Empty text (as in an empty `/sys/devices/system/cpu/isolated`) is the empty set.
    pub fn parse_list(text: &str) -> Result<Self, CpuSetParseError> {
        let err = || CpuSetParseError {
            text: text.to_string(),
        };
        let mut set = BTreeSet::new();
        for item in text
            .trim()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (range, stride) = match item.split_once(':') {
                Some((r, s)) => (r, Some(s)),
                None => (item, None),
            };
            let (lo, hi) = match range.split_once('-') {
                Some((a, b)) => (parse_cpu(a).ok_or_else(err)?, parse_cpu(b).ok_or_else(err)?),
                None => {
                    let n = parse_cpu(range).ok_or_else(err)?;
                    (n, n)
                }
            };
            if lo > hi {
                return Err(err());
            }
            let (used, group) = match stride {
                None => (1, 1),
                Some(s) => {
                    let (u, g) = s.split_once('/').ok_or_else(err)?;
                    let u: usize = u.trim().parse().map_err(|_| err())?;
                    let g: usize = g.trim().parse().map_err(|_| err())?;
                    if u == 0 || g == 0 || u > g {
                        return Err(err());
                    }
                    (u, g)
                }
            };
            for cpu in lo..=hi {
                if (cpu - lo) % group < used {
                    set.insert(cpu);
                }
            }
        }
        Ok(Self(set))
    }

    /// Parses a hexadecimal CPU mask as in `/proc/irq/default_smp_affinity`: comma-separated
    /// 32-bit groups, most significant first.
    pub fn parse_mask(text: &str) -> Result<Self, CpuSetParseError> {
        let err = || CpuSetParseError {
            text: text.to_string(),
        };
        let groups: Vec<&str> = text.trim().split(',').collect();
        let mut set = BTreeSet::new();
        for (index_from_right, group) in groups.iter().rev().enumerate() {
            let group = group.trim();
            if group.is_empty() || group.len() > 8 {
                return Err(err());
            }
            let bits = u32::from_str_radix(group, 16).map_err(|_| err())?;
            for bit in 0..32 {
                if bits & (1 << bit) != 0 {
                    let cpu = index_from_right * 32 + bit;
                    if cpu > MAX_CPU {
                        return Err(err());
                    }
                    set.insert(cpu);
                }
            }
        }
        Ok(Self(set))
    }

    /// Builds a set from CPU numbers.
    pub fn from_cpus<I: IntoIterator<Item = usize>>(cpus: I) -> Self {
        Self(cpus.into_iter().collect())
    }

    /// Adds a CPU.
    pub fn insert(&mut self, cpu: usize) {
        self.0.insert(cpu);
    }

    /// Whether `cpu` is in the set.
    pub fn contains(&self, cpu: usize) -> bool {
        self.0.contains(&cpu)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of CPUs in the set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The CPUs in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().copied()
    }

    /// The highest CPU, if any.
    pub fn last(&self) -> Option<usize> {
        self.0.last().copied()
    }

    /// Whether every CPU of `self` is in `other`.
    pub fn is_subset(&self, other: &CpuSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// CPUs in both sets.
    pub fn intersection(&self, other: &CpuSet) -> CpuSet {
        Self(self.0.intersection(&other.0).copied().collect())
    }

    /// CPUs of `self` that are not in `other`.
    pub fn difference(&self, other: &CpuSet) -> CpuSet {
        Self(self.0.difference(&other.0).copied().collect())
    }

    /// CPUs in either set.
    pub fn union(&self, other: &CpuSet) -> CpuSet {
        Self(self.0.union(&other.0).copied().collect())
    }

    /// The mask form (`%x` groups of 32 bits, comma-separated, most significant first) as
    /// `/proc/irq/*/smp_affinity` takes it.
    pub fn to_mask(&self) -> String {
        let groups = self.last().map_or(1, |last| last / 32 + 1);
        let mut words = vec![0u32; groups];
        for cpu in self.iter() {
            words[cpu / 32] |= 1 << (cpu % 32);
        }
        words
            .iter()
            .rev()
            .map(|w| format!("{w:08x}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn parse_cpu(text: &str) -> Option<usize> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<usize>().ok().filter(|&n| n <= MAX_CPU)
}

impl fmt::Display for CpuSet {
    /// The compact list form (`0-3,8`); the empty set prints as `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let mut first = true;
        let mut iter = self.iter().peekable();
        while let Some(start) = iter.next() {
            let mut end = start;
            while iter.peek() == Some(&(end + 1)) {
                end += 1;
                iter.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if end == start {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_ranges_and_strides() {
        assert_eq!(CpuSet::parse_list("0-3,8").unwrap().to_string(), "0-3,8");
        assert_eq!(CpuSet::parse_list("").unwrap(), CpuSet::new());
        assert_eq!(CpuSet::parse_list("\n").unwrap().to_string(), "none");
        assert_eq!(
            CpuSet::parse_list("0-7:2/4").unwrap(),
            CpuSet::from_cpus([0, 1, 4, 5])
        );
        assert_eq!(
            CpuSet::parse_list(" 5 , 2-3 ").unwrap().to_string(),
            "2-3,5"
        );
    }

    #[test]
    fn rejects_malformed_lists() {
        for bad in [
            "a", "3-1", "1-", "-1", "0-7:0/4", "0-7:5/4", "99999", "0-7:2", "N",
        ] {
            assert!(CpuSet::parse_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_and_prints_masks() {
        assert_eq!(CpuSet::parse_mask("3").unwrap().to_string(), "0-1");
        assert_eq!(
            CpuSet::parse_mask("00000001,00000004").unwrap().to_string(),
            "2,32"
        );
        assert_eq!(CpuSet::from_cpus([2, 32]).to_mask(), "00000001,00000004");
        assert_eq!(CpuSet::new().to_mask(), "00000000");
        assert!(CpuSet::parse_mask("xyz").is_err());
        assert!(CpuSet::parse_mask("123456789").is_err());
    }

    #[test]
    fn set_arithmetic() {
        let a = CpuSet::from_cpus([0, 1, 2]);
        let b = CpuSet::from_cpus([2, 3]);
        assert_eq!(a.intersection(&b).to_string(), "2");
        assert_eq!(a.difference(&b).to_string(), "0-1");
        assert_eq!(a.union(&b).to_string(), "0-3");
        assert!(CpuSet::from_cpus([1]).is_subset(&a));
    }
}
