// Package split cuts an input into chunks for distributed processing.
//
// A [Chunk] is a description (its index, where it lies in the input, its
// size, how many records it holds) and a way to open it, as many times as
// needed: a dispatcher that retries a chunk on another node simply opens it
// again. A [Splitter] yields chunks in order; the splitters here cover the
// usual inputs:
//
//   - [Even] cuts a file (any io.ReaderAt) into N chunks of the same number
//     of records, give or take one (where split -n cuts by bytes and
//     split -l by a fixed record count).
//   - [Blocks] cuts a file into line-aligned blocks of about a given size,
//     like GNU parallel --pipepart --block. [BlockSizeFor] picks a size
//     from the number of slots.
//   - [Stream] cuts a non-seekable input (a pipe, stdin) into blocks as it
//     reads it, keeping each chunk in memory or in a temp file until it is
//     released.
//   - [Items] cuts a list of file names or other items into chunks of a
//     few items each, one item per record.
//
// # Inputs by name
//
// [OpenInput] opens an input by name ("-" for standard input) as an
// [Input]: a regular file is read in place; anything else (a pipe, a FIFO,
// `<(cmd)`, a character device, a /proc file that Stat says is empty) is
// read once as a stream and spooled as [Stream] does, within the memory
// budget and then in temp files, so that a retry can read a chunk again.
// [NewInput] does the same for an open *os.File or any io.Reader.
// [Input.Blocks] gives the same chunks either way, so a pipe and a file of
// the same bytes split alike.
//
// [EvenFile] and [BlocksFile] open a regular file by name and refuse
// anything else with an error wrapping [ErrNotRegular]: sized by Stat, a
// pipe or a /proc file would look empty and yield no chunk, silently.
// Even, whether from EvenFile or [Input.Even], refuses a stream rather
// than holding all of it (in memory or on disk) before the first chunk:
// it must count every record first, and a stream of unknown size could
// fill the disk before any work starts; cut a stream into blocks instead.
//
// Package [dproc/split/splittest] checks that a Splitter keeps the
// promises below; use it to test your own.
//
// # Records
//
// Chunks are made of whole records. A record ends just after a separator,
// Options.Separator, "\n" by default; any non-empty byte string works
// ("\x00", "\r\n", "\n\n" for paragraphs). Records are found by a scan from
// the start of the input that takes the leftmost match and continues after
// it, as bytes.Split does, so "\n\n\n" with separator "\n\n" is the record
// "\n\n" followed by the record "\n". A last record without a separator is
// kept as it is. Bytes are never changed: with separator "\n", a CRLF
// line keeps its "\r"; NUL bytes pass through. A chunk ends at the end of a
// record, never inside one, and a record longer than a block stays whole.
// An empty input yields no chunk.
//
// With Options.Header, the first record is a header (a CSV header line)
// copied at the start of every chunk: Chunk.Size counts it, Chunk.Offset
// and Chunk.Records do not, and chunks without their header concatenate to
// the input after the header. An input that holds only a header, or only
// part of one, yields no chunk: there is no data to process.
//
// # Choosing a splitter
//
// Even suits one chunk per node, and balances records, not bytes. It must
// count every record, so it reads the whole input before the first chunk
// (twice in all), in 1 MiB reads, with bytes.Count for a one-byte
// separator: several GB/s from the page cache.
//
// Blocks is the better default for a dispatcher: many chunks of similar
// byte size let fast nodes take more of them, and splitting reads only a
// few KiB around each boundary, so it costs next to nothing whatever the
// input size. A separator that can overlap itself ("\n\n", "aba") is the
// exception: where its records end depends on where the scan started, so
// Blocks then scans the whole input, still at memory speed.
//
// [BlockSizeFor] follows GNU parallel's --block -1 (input size over the
// number of slots) but keeps the block within [MinBlockSize, MaxBlockSize],
// 64 KiB to 32 MiB: a task must carry enough data to be worth its overhead
// (over SSH each chunk is a session, which costs the node CPU),
// and a chunk small enough to be retried cheaply and, for Stream, spooled
// within a memory budget. On large inputs this gives more chunks than
// slots, which balances the load.
//
// # Memory
//
// Even, Blocks and Items hold no data: their chunks read the input again
// when opened (Even and Blocks through io.SectionReader, so several readers
// can read the same chunk at once, and Items by joining the items on each
// Open). Even and Blocks use one read buffer of at most 1 MiB while
// splitting.
//
// Stream must keep what it read, since its input cannot be read again. It
// copies each chunk into memory while the chunks not yet released hold at
// most Options.MemoryBudget bytes (64 MiB by default), and into a temp file
// in Options.TempDir beyond it. Chunk.Release frees a chunk's memory or
// removes its file, and [StreamSplitter.Close] removes everything. Split
// also blocks while yield does, so a dispatcher that stops accepting chunks
// stops the reading too.
//
// # Errors and cancellation
//
// The splitter constructors never fail; Split reports bad arguments with
// an error wrapping [ErrInvalid], which reads "split: invalid argument:
// ...". ErrInvalid is one value shared by every dproc package
// (gather.ErrInvalid is the same value). If yield returns an error, Split
// stops and returns it. If the context ends, Split stops and returns an
// error for which errors.Is(err, ctx.Err()) holds. An io.ReaderAt shorter
// than the size it was given makes Split fail with io.ErrUnexpectedEOF.
// Opening a Stream chunk after its Release or after Close fails with
// [ErrReleased] or [ErrClosed].
package split
