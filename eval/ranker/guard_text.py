#!/usr/bin/env python3
"""A recorded experiment, not part of the service (eval/README.md, round 5): the guard of
train_guard.py with the TF-IDF of the question's words and word pairs (without diacritics) beside
the e5 embedding, cross-validated exactly as train_guard.py does (5 folds, threshold at 1% of
answerable questions declined out of fold).

Out of fold it looked much better (unlawful 49% -> 86% declined), but a build with it declined six
of seven ordinary questions asked with "làm sao" ("Công ty nợ lương 2 tháng rồi em phải làm sao?"),
a phrasing the answerable training questions rarely use and the unlawful ones often do. Not shipped.
Round 6 added such lawful questions (eval/questions/phrasing-dev.jsonl) and shipped a guard with
word TF-IDF in train_guard.py; run on both dumps, this script shows characters add nothing.

Usage: eval/ranker/.venv/bin/python eval/ranker/guard_text.py [DUMP ...]
       (round 6: data/ranker/guard-pools.jsonl data/ranker/pools.jsonl)
"""
import json, sys, unicodedata
from collections import Counter
import numpy as np
from scipy.sparse import hstack, csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.feature_extraction.text import TfidfVectorizer
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_guard as tg
CLASSES=tg.CLASSES
def strip(t):
    t=unicodedata.normalize('NFD',t.lower()).replace('đ','d')
    return ''.join(c for c in t if unicodedata.category(c)!='Mn')
X,y,q=[],[],[]
seen=set()
S=[]
for path in sys.argv[1:] or ['data/ranker/pools.jsonl']:
  for line in open(path, encoding='utf-8'):
    row=json.loads(line); lab=tg.label_of(row)
    if lab is None or row['question'] in seen: continue
    seen.add(row['question']); X.append(row['query_vector']); y.append(CLASSES.index(lab)); q.append(strip(row['question'])); S.append(row['set'])
X=np.asarray(X); y=np.asarray(y)
print(Counter(CLASSES[i] for i in y))
def run(name, make_feats, C):
    oof=np.zeros((len(y),len(CLASSES)))
    for tr,te in StratifiedKFold(5,shuffle=True,random_state=5).split(X,y):
        Ftr,Fte=make_feats(tr,te)
        m=LogisticRegression(C=C,max_iter=5000,class_weight='balanced').fit(Ftr,y[tr])
        oof[np.ix_(te,m.classes_)]=m.predict_proba(Fte)
    legal=oof[:,0]; ans=y==0
    thr=0
    for t in sorted(set(np.round(legal[ans],4))):
        if np.mean(legal[ans]<t)<=0.01: thr=t
    dec=legal<thr
    S_=np.asarray(S)
    print(f"{name:40s} C={C}: " + ", ".join(f"{c} {np.mean(dec[y==i]):.1%}" for i,c in enumerate(CLASSES)) + "; phrasing-dev declined " + str(int(dec[(S_=='questions/phrasing-dev')&ans].sum())))
def emb(tr,te): return X[tr],X[te]
def tfidf(tr,te,char=True):
    w=TfidfVectorizer(ngram_range=(1,2),sublinear_tf=True,min_df=1)
    parts_tr=[w.fit_transform([q[i] for i in tr])]; parts_te=[w.transform([q[i] for i in te])]
    if char:
        c=TfidfVectorizer(analyzer='char_wb',ngram_range=(2,5),sublinear_tf=True,min_df=2)
        parts_tr.append(c.fit_transform([q[i] for i in tr])); parts_te.append(c.transform([q[i] for i in te]))
    return hstack(parts_tr).tocsr(), hstack(parts_te).tocsr()
def both(scale):
    def f(tr,te):
        a,b=tfidf(tr,te)
        return hstack([a,csr_matrix(X[tr]*scale)]).tocsr(), hstack([b,csr_matrix(X[te]*scale)]).tocsr()
    return f
run('embedding (shipped)',emb,4.0)
for C in (4,16): run('tfidf words',lambda tr,te: tfidf(tr,te,False),C)
for C in (4,16): run('tfidf words+chars',tfidf,C)
for s in (1,3):
    for C in (4,16): run(f'tfidf + embedding x{s}',both(s),C)
