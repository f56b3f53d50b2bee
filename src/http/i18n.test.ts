import { expect } from 'chai';

import { chooseLanguage } from './i18n.ts';

describe('page language', () => {
  it('is Danish by default', () => {
    expect(chooseLanguage({})).to.equal('da');
    expect(chooseLanguage({ acceptLanguage: 'de-DE,fr;q=0.8' })).to.equal('da');
  });

  it('follows Accept-Language by q-value', () => {
    expect(chooseLanguage({ acceptLanguage: 'en-GB,en;q=0.9,da;q=0.8' })).to.equal('en');
    expect(chooseLanguage({ acceptLanguage: 'en;q=0.5,da-DK;q=0.9' })).to.equal('da');
    expect(chooseLanguage({ acceptLanguage: 'da;q=0,en' })).to.equal('en');
  });

  it('lets an explicit choice win over the browser', () => {
    expect(chooseLanguage({ chosen: 'en', acceptLanguage: 'da' })).to.equal('en');
    expect(chooseLanguage({ chosen: 'klingon', acceptLanguage: 'en' })).to.equal('en');
  });
});
