//! Reading one job for `check` and `submit`: at most the 1 MiB intake takes (so
//! `check /dev/zero` ends), as UTF-8 text, with one wording for what went wrong.
//!
//! Trusts nothing about the source; guarantees never to read more than
//! [`MAX_JOB_FILE`] + 1 bytes.

use std::io::Read;

use crate::spool::scan::MAX_JOB_FILE;

/// Reads a whole job, refusing one larger than intake takes or not UTF-8; the error is a
/// message naming what to do.
pub(super) fn read_job(source: impl Read) -> Result<String, String> {
    let mut bytes = Vec::new();
    source
        .take(MAX_JOB_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > MAX_JOB_FILE {
        return Err(format!(
            "the file is over 1 MiB ({MAX_JOB_FILE} bytes), the most a job file may have"
        ));
    }
    String::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text; save it as UTF-8".to_owned())
}

/// [`read_job`] from the file at `path`.
pub(super) fn read_job_file(path: &std::path::Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    read_job(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_of_exactly_one_mebibyte_is_read_and_one_byte_more_is_refused() {
        let limit = usize::try_from(MAX_JOB_FILE).unwrap();
        assert_eq!(read_job(&vec![b'#'; limit][..]).unwrap().len(), limit);
        let err = read_job(std::io::repeat(b'#')).unwrap_err();
        assert!(err.contains("over 1 MiB"), "{err}");
    }

    #[test]
    fn a_job_that_is_not_utf8_is_refused_with_what_to_do() {
        let err = read_job(&[b'a', 0xff, b'b'][..]).unwrap_err();
        assert!(err.contains("save it as UTF-8"), "{err}");
    }
}
