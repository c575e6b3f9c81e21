package io.mergen.forwarder;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import java.util.ArrayList;
import java.util.List;

/**
 * An unpooled allocator that remembers every buffer it hands out, so a test can check that the code under test
 * released all of them: deterministic, unlike the leak detector, which only notices leaks after a GC. Its buffers,
 * heap ones too, are also handed to Netty's leak detector (see {@link NettyLeaks}).
 */
public final class TrackingAllocator extends AbstractByteBufAllocator {
    private final List<ByteBuf> allocated = new ArrayList<>();

    public TrackingAllocator() {
        super(false);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        return remember(new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity));
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        return remember(new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity));
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }

    private synchronized ByteBuf remember(ByteBuf buf) {
        allocated.add(buf);
        return toLeakAwareBuffer(buf);
    }

    public synchronized int allocations() {
        return allocated.size();
    }

    /** Descriptions of the buffers still holding a reference, empty when everything was released. */
    public synchronized List<String> unreleased() {
        return allocated.stream().filter(b -> b.refCnt() != 0)
                .map(b -> b.getClass().getSimpleName() + "(refCnt " + b.refCnt() + ", " + b.readableBytes()
                        + " readable bytes)")
                .toList();
    }
}
