#pragma once
// Writing a file so that readers see either the old content or the complete new one, and a
// failed write (full disk, no permission, I/O error) is an error naming the file and the
// operating system's reason, never a truncated file under the final name.
//
// The temporary file beside `target` gets a fresh, unpredictable name
// ("<target>.tmp-<pid>-<16 hex digits>") and is created exclusively (O_CREAT | O_EXCL |
// O_NOFOLLOW): a file or symbolic link planted at any name, guessed or not, is never written
// through; creation just moves on to another name.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace vgrow::io {

// Creates an empty temporary file beside `target`, calls write(tmp) to fill it by path (for
// writers such as LibTorch's that only take a path), flushes it to disk, then renames it over
// `target`. Before the rename the temporary must still be the regular file created here, and
// not empty: one replaced in the meantime (by a symbolic link, by another file) is refused. On
// any failure the temporary file is removed, `target` is left as it was, and the error names
// `target`.
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path&)>& write);
// The same for bytes in memory, written with checked system calls to the descriptor that
// created the temporary file (no second open by name).
void write_bytes_atomically(const std::filesystem::path& target, std::string_view bytes);
void write_text_atomically(const std::filesystem::path& target, const std::string& text);

// Removes from `dir` (not its sub-folders) the temporary files of the functions above that a
// killed process left behind: regular files whose names match exactly the pattern above, and
// nothing else ("notes.tmp" stays). For when a run starts or resumes, with no other writer in
// `dir`: a write in progress would lose its temporary file. A missing `dir` holds none; a
// folder that cannot be listed is an error; a file that cannot be removed is a warning.
void remove_stale_temporaries(const std::filesystem::path& dir);

}  // namespace vgrow::io
