//! A bounds-checked cursor over complete input.
//!
//! Every read goes through nom's `complete` number parsers, so a short input is
//! an error value and never a panic or an "incomplete, need more" state: the
//! framer has already delivered the whole message before any of this runs.

use nom::number::complete::{be_u16, be_u24, be_u32, be_u8};
use nom::IResult;

/// The input ended before a field that the format says is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Truncated;

type NomResult<'a, T> = IResult<&'a [u8], T, nom::error::Error<&'a [u8]>>;

#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }

    fn step<T>(
        &mut self,
        parse: impl FnOnce(&'a [u8]) -> NomResult<'a, T>,
    ) -> Result<T, Truncated> {
        let (rest, value) = parse(self.rest).map_err(|_| Truncated)?;
        self.rest = rest;
        Ok(value)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Truncated> {
        self.step(be_u8)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Truncated> {
        self.step(be_u16)
    }

    pub(crate) fn u24(&mut self) -> Result<u32, Truncated> {
        self.step(be_u24)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Truncated> {
        self.step(be_u32)
    }

    pub(crate) fn take(&mut self, count: usize) -> Result<&'a [u8], Truncated> {
        self.step(|input: &'a [u8]| nom::bytes::complete::take(count)(input))
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_fields_and_stops_at_the_end() {
        let mut reader = Reader::new(&[1, 0, 2, 0, 0, 0, 3, 9]);
        assert_eq!(reader.u8(), Ok(1));
        assert_eq!(reader.u16(), Ok(2));
        assert_eq!(reader.u32(), Ok(3));
        assert_eq!(reader.u16(), Err(Truncated));
        assert_eq!(reader.take(1), Ok(&[9][..]));
        assert!(reader.is_empty());
        assert_eq!(reader.take(1), Err(Truncated));
    }
}
