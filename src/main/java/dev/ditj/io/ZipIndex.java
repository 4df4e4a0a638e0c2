package dev.ditj.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A minimal reader for the zip archives written by {@code torch.save} (miniz, always with ZIP64 end records). It
 * parses the central directory itself, rather than using {@link java.util.zip.ZipFile}, because storage records
 * must be memory-mapped in place: that needs each record's data offset, which is only known from its local header.
 */
final class ZipIndex {
    private static final int LOCAL_SIG = 0x04034b50;
    private static final int CENTRAL_SIG = 0x02014b50;
    private static final int END_SIG = 0x06054b50;
    private static final int END64_SIG = 0x06064b50;
    private static final int END64_LOCATOR_SIG = 0x07064b50;
    /** Deflate expands at most about 1032:1 (258-byte matches of a few bits each). */
    private static final long MAX_DEFLATE_RATIO = 1032;

    record Entry(String name, int flags, int method, long crc, long compressedSize, long size, long localHeaderOffset) {
    }

    private final String label;
    private final FileChannel ch;
    private final long fileSize;
    private final List<Entry> entries;
    private final Map<String, Entry> byName;

    private ZipIndex(String label, FileChannel ch, long fileSize, List<Entry> entries, Map<String, Entry> byName) {
        this.label = label;
        this.ch = ch;
        this.fileSize = fileSize;
        this.entries = entries;
        this.byName = byName;
    }

    /** Entries in central-directory order. */
    List<Entry> entries() {
        return entries;
    }

    Entry get(String name) {
        return byName.get(name);
    }

    static ZipIndex read(FileChannel ch, String label) throws IOException {
        long size = ch.size();
        // The end record (22 bytes + a comment of up to 65535 bytes) sits at the very end of the file.
        int tailLen = (int) Math.min(size, 22 + 65535);
        ByteBuffer tail = readAt(ch, size - tailLen, tailLen);
        int end = -1;
        for (int p = tailLen - 22; p >= 0; p--) {
            if (tail.getInt(p) == END_SIG && p + 22 + (tail.getShort(p + 20) & 0xffff) == tailLen) {
                end = p;
                break;
            }
        }
        if (end < 0) throw new CheckpointException(label + ": truncated or not a zip archive (zip END header not found)");
        long endPos = size - tailLen + end;
        long count = tail.getShort(end + 10) & 0xffff;
        long cdSize = tail.getInt(end + 12) & 0xffffffffL;
        long cdOffset = tail.getInt(end + 16) & 0xffffffffL;
        long cdLimit = endPos;
        if (endPos >= 20 && readAt(ch, endPos - 20, 4).getInt(0) == END64_LOCATOR_SIG) {
            long end64Pos = readAt(ch, endPos - 20, 20).getLong(8);
            if (end64Pos < 0 || end64Pos > endPos - 56) throw corrupt(label, "ZIP64 end record outside the file");
            ByteBuffer e64 = readAt(ch, end64Pos, 56);
            if (e64.getInt(0) != END64_SIG) throw corrupt(label, "ZIP64 end record signature missing");
            count = e64.getLong(32);
            cdSize = e64.getLong(40);
            cdOffset = e64.getLong(48);
            cdLimit = end64Pos;
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > cdLimit - cdSize || cdSize > Integer.MAX_VALUE) {
            throw corrupt(label, "central directory outside the file (truncated?)");
        }
        ByteBuffer cd = readAt(ch, cdOffset, (int) cdSize);
        List<Entry> list = new ArrayList<>();
        Map<String, Entry> byName = new LinkedHashMap<>();
        int p = 0;
        for (long i = 0; i < count; i++) {
            if (p + 46 > cd.limit() || cd.getInt(p) != CENTRAL_SIG) throw corrupt(label, "bad central directory entry " + i);
            int flags = cd.getShort(p + 8) & 0xffff;
            int method = cd.getShort(p + 10) & 0xffff;
            long crc = cd.getInt(p + 16) & 0xffffffffL;
            long csize = cd.getInt(p + 20) & 0xffffffffL;
            long usize = cd.getInt(p + 24) & 0xffffffffL;
            int nameLen = cd.getShort(p + 28) & 0xffff;
            int extraLen = cd.getShort(p + 30) & 0xffff;
            int commentLen = cd.getShort(p + 32) & 0xffff;
            long offset = cd.getInt(p + 42) & 0xffffffffL;
            int next = p + 46 + nameLen + extraLen + commentLen;
            if (next > cd.limit()) throw corrupt(label, "bad central directory entry " + i);
            byte[] nameBytes = new byte[nameLen];
            cd.get(p + 46, nameBytes);
            String name = new String(nameBytes, StandardCharsets.UTF_8);
            // ZIP64 extra field: the 64-bit values, present only for the fields that are 0xFFFFFFFF above.
            int x = p + 46 + nameLen;
            int xEnd = x + extraLen;
            while (x + 4 <= xEnd) {
                int id = cd.getShort(x) & 0xffff;
                int len = cd.getShort(x + 2) & 0xffff;
                if (x + 4 + len > xEnd) throw corrupt(label, "bad extra field in entry " + name);
                if (id == 0x0001) {
                    int q = x + 4;
                    if (usize == 0xffffffffL) { usize = need64(cd, q, x + 4 + len, label, name); q += 8; }
                    if (csize == 0xffffffffL) { csize = need64(cd, q, x + 4 + len, label, name); q += 8; }
                    if (offset == 0xffffffffL) { offset = need64(cd, q, x + 4 + len, label, name); }
                }
                x += 4 + len;
            }
            if (usize < 0 || csize < 0 || offset < 0) throw corrupt(label, "entry " + name + " has invalid sizes");
            Entry e = new Entry(name, flags, method, crc, csize, usize, offset);
            if (byName.putIfAbsent(name, e) != null) throw corrupt(label, "duplicate entry " + name);
            list.add(e);
            p = next;
        }
        return new ZipIndex(label, ch, size, Collections.unmodifiableList(list), byName);
    }

    private static long need64(ByteBuffer cd, int q, int limit, String label, String name) {
        if (q + 8 > limit) throw corrupt(label, "short ZIP64 extra field in entry " + name);
        return cd.getLong(q);
    }

    /** Offset of the entry's (possibly compressed) data, from its local header. */
    long dataStart(Entry e) throws IOException {
        if ((e.flags & 1) != 0) throw corrupt(label, "entry " + e.name + " is encrypted");
        if (e.localHeaderOffset > fileSize - 30) throw corrupt(label, "entry " + e.name + " starts past the end of the file (truncated?)");
        ByteBuffer h = readAt(ch, e.localHeaderOffset, 30);
        if (h.getInt(0) != LOCAL_SIG) throw corrupt(label, "local header of entry " + e.name + " not found");
        // The local name/extra lengths may differ from the central ones (torch pads with a local "FB" extra field).
        long start = e.localHeaderOffset + 30 + (h.getShort(26) & 0xffff) + (h.getShort(28) & 0xffff);
        if (e.compressedSize > fileSize - start) {
            throw corrupt(label, "entry " + e.name + " extends past the end of the file (truncated?)");
        }
        return start;
    }

    /** The entry's bytes, uncompressed and CRC-checked, on the heap (for small records such as data.pkl). */
    byte[] readBytes(Entry e) throws IOException {
        byte[] out = inflated(e);
        CRC32 crc = new CRC32();
        crc.update(out);
        if (crc.getValue() != e.crc) throw corrupt(label, "CRC mismatch in entry " + e.name);
        return out;
    }

    /**
     * The entry's bytes: a read-only memory mapping for stored entries (the normal case for torch storages, which
     * are not CRC-checked here so that a multi-GB file is not read in full), else inflated on the heap.
     */
    ByteBuffer map(Entry e) throws IOException {
        checkSize(e);
        if (e.method == 0) {
            if (e.compressedSize != e.size) throw corrupt(label, "stored entry " + e.name + " has mismatched sizes");
            return ch.map(FileChannel.MapMode.READ_ONLY, dataStart(e), e.size);
        }
        return ByteBuffer.wrap(readBytes(e));
    }

    private byte[] inflated(Entry e) throws IOException {
        checkSize(e);
        long start = dataStart(e);
        if (e.method == 0) {
            if (e.compressedSize != e.size) throw corrupt(label, "stored entry " + e.name + " has mismatched sizes");
            return readAt(ch, start, (int) e.size).array();
        }
        if (e.method != 8) throw corrupt(label, "entry " + e.name + " uses unsupported compression method " + e.method);
        if (e.compressedSize > Integer.MAX_VALUE) throw corrupt(label, "entry " + e.name + " is too large");
        if (e.size / MAX_DEFLATE_RATIO > e.compressedSize) { // checked before allocating what the entry claims
            throw corrupt(label, "entry " + e.name + " claims " + e.size + " bytes from " + e.compressedSize + " compressed bytes");
        }
        byte[] in = readAt(ch, start, (int) e.compressedSize).array();
        byte[] out = new byte[(int) e.size];
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(in);
            int n = 0;
            while (n < out.length && !inf.finished()) {
                int k = inf.inflate(out, n, out.length - n);
                if (k == 0 && (inf.needsInput() || inf.needsDictionary())) break;
                n += k;
            }
            if (n != out.length) throw corrupt(label, "entry " + e.name + " inflates to fewer bytes than recorded");
        } catch (DataFormatException ex) {
            throw new CheckpointException(label + ": corrupt zip (entry " + e.name + ": " + ex.getMessage() + ")", ex);
        } finally {
            inf.end();
        }
        return out;
    }

    private void checkSize(Entry e) {
        if (e.size > Integer.MAX_VALUE) {
            throw new CheckpointException(label + ": entry " + e.name + " is " + e.size
                    + " bytes: records over 2 GiB are not supported");
        }
    }

    private static CheckpointException corrupt(String label, String what) {
        return new CheckpointException(label + ": corrupt zip (" + what + ")");
    }

    static ByteBuffer readAt(FileChannel ch, long pos, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) throw new java.io.EOFException("unexpected end of file at byte " + (pos + b.position()));
        }
        return b.flip();
    }
}
