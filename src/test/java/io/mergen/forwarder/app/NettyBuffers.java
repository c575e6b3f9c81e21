package io.mergen.forwarder.app;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.internal.PlatformDependent;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

/**
 * The buffer memory Netty holds in this JVM: what its default allocator (adaptive in Netty 4.2) and the pooled
 * one have taken from the system, direct and heap, and the direct memory Netty counts itself. With the forwarder
 * in-process and a JDK client that uses no Netty, this is the forwarder's buffering.
 */
record NettyBuffers(long defaultDirect, long defaultHeap, long pooledDirect, long pooledHeap, long nettyDirect,
                    long nioDirect) {

    static NettyBuffers now() {
        ByteBufAllocatorMetric defaults = ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
        ByteBufAllocatorMetric pooled = PooledByteBufAllocator.DEFAULT.metric();
        long nio = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
        return new NettyBuffers(defaults.usedDirectMemory(), defaults.usedHeapMemory(),
                pooled.usedDirectMemory(), pooled.usedHeapMemory(), PlatformDependent.usedDirectMemory(), nio);
    }

    /** Everything both allocators hold; Netty's own direct counter overlaps with them, so it is not added. */
    long allocated() {
        return defaultDirect + defaultHeap + pooledDirect + pooledHeap;
    }

    @Override
    public String toString() {
        return "allocators " + ProcessResources.mib(allocated()) + " (default direct " + ProcessResources.mib(defaultDirect)
                + ", heap " + ProcessResources.mib(defaultHeap) + "; pooled direct " + ProcessResources.mib(pooledDirect)
                + ", heap " + ProcessResources.mib(pooledHeap) + "), Netty direct " + ProcessResources.mib(nettyDirect)
                + ", JDK direct buffers " + ProcessResources.mib(nioDirect);
    }
}
